/**
 * Requests the edge sends to the platform (research/alwayson.md §11): property pushes and writes, property reads,
 * events, and service calls dispatched to the same service layer as REST (with the same permission checks).
 */
import type { InfoTable, MessageCodeName, RequestBody } from '../../alwayson/codec/index.js';
import { vtqRowsOf } from './edge-requests.js';
import { jsonToInfoTable, paramsFromInfoTable } from './json-values.js';
import { PlatformError } from './permissions.js';
import type { Caller, Platform, VTQ } from './platform.js';
import type { Session } from './sessions.js';

const COLLECTIONS: Partial<Record<RequestBody['entityType'], string>> = {
  THING: 'Things',
  THINGTEMPLATES: 'ThingTemplates',
  RESOURCE: 'Resources',
  SUBSYSTEM: 'Subsystems',
  USERS: 'Users',
};

/** Handles one edge request; resolves with the response content (null = NOTHING), throws PlatformError. */
export async function handleEdgeRequest(
  p: Platform,
  s: Session,
  code: MessageCodeName,
  b: RequestBody,
): Promise<InfoTable | null> {
  const caller: Caller = { user: s.user!, keyName: s.key?.name, via: 'alwayson' };
  const collection = COLLECTIONS[b.entityType];
  if (!collection)
    throw new PlatformError(
      404,
      `Unable to dispatch [ uri = /${b.entityType}/${b.entityName}/]: unsupported entity type`,
    );
  if (b.characteristic === 'EVENTS') {
    p.events.emit('event', {
      sessionId: s.sessionId,
      thing: b.entityName,
      event: b.name,
      params: paramsFromInfoTable(b.params),
    });
    return null;
  }
  if (b.characteristic === 'PROPERTIES' && collection === 'Things') {
    const t = p.thing(caller, b.entityName);
    if (code === 'GET') {
      const table = p.readProperties(caller, b.entityName, b.name === '' || b.name === '*' ? undefined : b.name);
      return jsonToInfoTable(table);
    }
    const values = paramsFromInfoTable(b.params);
    const rows: VTQ[] = Object.entries(values).map(([name, value]) => ({
      name: name === '_content_' ? b.name : name,
      value,
    }));
    const { stored, unknown } = p.updateValues(t, rows);
    if (stored.length === 0 && unknown.length > 0)
      throw new PlatformError(404, `Property [${unknown.join(', ')}] not found on ${t.name}`);
    p.events.emit('push', { sessionId: s.sessionId, thing: t.name, values: stored });
    return null;
  }
  if (b.characteristic !== 'SERVICES' || code !== 'POST')
    throw new PlatformError(405, `Method ${code} not allowed on ${b.characteristic}`);
  if (collection === 'Things' && b.name === 'UpdateSubscribedPropertyValues') {
    // The fast path of pushes: NamedVTQ rows read straight from the typed infotable (§11.1).
    const t = p.thing(caller, b.entityName);
    p.access.requireServiceInvoke(caller.user, 'Things', t.name, b.name, t.owner);
    const rows = vtqRowsOf(b.params);
    if (!rows) throw new PlatformError(400, 'Parameter [values] (INFOTABLE) is required');
    const { stored, unknown } = p.updateValues(t, rows);
    p.events.emit('push', { sessionId: s.sessionId, thing: t.name, values: stored, unknown });
    return null;
  }
  const result = await p.invoke(caller, collection, b.entityName, b.name, paramsFromInfoTable(b.params));
  return result ? jsonToInfoTable(result) : null;
}
