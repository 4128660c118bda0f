/**
 * Platform -> edge requests on an AlwaysOn session (research/alwayson.md §12): property writes and reads,
 * service calls such as NotifyPropertyUpdate / SynchronizeModelState, with the platform's own request ids and a
 * timeout; and the reading of pushed NamedVTQ infotables (§11.1).
 */
import {
  type CharacteristicName,
  type InfoTable,
  infoTableFromValues,
  MESSAGE_CODES,
  type Message,
  type MessageCodeName,
  type RequestMethod,
  type ResponseBody,
} from '../../alwayson/codec/index.js';
import { twToJson } from './json-values.js';
import type { Store, Thing } from './model.js';
import type { VTQ } from './platform.js';
import type { Session } from './sessions.js';

export interface EdgeRequest {
  method?: RequestMethod;
  characteristic?: CharacteristicName;
  name: string;
  params?: InfoTable | null;
  timeoutMs?: number;
}

export interface EdgeResponse {
  code: MessageCodeName;
  reason: string | null;
  content: InfoTable | null;
}

export class EdgeRequester {
  private nextRequestId: number;

  constructor(
    private readonly send: (s: Session, m: Message) => void,
    firstRequestId = 1,
    private readonly defaultTimeoutMs: () => number = () => 30_000,
  ) {
    this.nextRequestId = firstRequestId;
  }

  /** Sends a request for a Thing to its session; resolves with the edge's response (any code), rejects on timeout/close. */
  request(s: Session, thing: string, r: EdgeRequest): Promise<EdgeResponse> {
    const requestId = this.nextRequestId++ >>> 0;
    if (this.nextRequestId > 0xfffffffe) this.nextRequestId = 1;
    const method = r.method ?? 'POST';
    const msg: Message = {
      header: {
        version: 1,
        code: method,
        codeValue: MESSAGE_CODES[method],
        requestId,
        endpointId: s.endpointId,
        sessionId: s.sessionId,
        multipart: null,
      },
      body: {
        kind: 'request',
        entityType: 'THING',
        entityName: thing,
        characteristic: r.characteristic ?? 'SERVICES',
        name: r.name,
        headers: {},
        params: r.params ?? null,
      },
    };
    return new Promise<EdgeResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        s.pending.delete(requestId);
        reject(new Error('request to the edge timed out'));
      }, r.timeoutMs ?? this.defaultTimeoutMs());
      timer.unref();
      s.pending.set(requestId, { resolve, reject, timer });
      this.send(s, msg);
    });
  }

  /** Matches an edge response to its request; false when nothing waits for it. */
  onResponse(s: Session, m: Message): boolean {
    const p = s.pending.get(m.header.requestId);
    if (!p) return false;
    s.pending.delete(m.header.requestId);
    clearTimeout(p.timer);
    const body = m.body as ResponseBody;
    p.resolve({ code: m.header.code, reason: body.reason ?? null, content: body.content ?? null });
    return true;
  }
}

/** The rows of the NamedVTQ `values` infotable of UpdateSubscribedPropertyValues; null when the parameter is missing. */
export function vtqRowsOf(params: InfoTable | null): VTQ[] | null {
  const field = params ? params.dataShape.findIndex((f) => f.name === 'values') : -1;
  const inner = field >= 0 ? params!.rows[0]?.[field] : undefined;
  if (inner?.baseType !== 'INFOTABLE') return null;
  const it = inner.value;
  const idx = (n: string) => it.dataShape.findIndex((f) => f.name === n);
  const [iName, iValue, iTime, iQuality] = [idx('name'), idx('value'), idx('time'), idx('quality')];
  const rows: VTQ[] = [];
  for (const r of it.rows) {
    const name = r[iName];
    if (!name || name.baseType === 'NOTHING') continue;
    const time = iTime >= 0 ? r[iTime] : undefined;
    const quality = iQuality >= 0 ? r[iQuality] : undefined;
    rows.push({
      name: String(twToJson(name)),
      value: iValue >= 0 && r[iValue] ? twToJson(r[iValue]!) : null,
      time: time && time.baseType === 'DATETIME' ? time.value : undefined,
      quality: quality && quality.baseType !== 'NOTHING' ? String(twToJson(quality)) : undefined,
    });
  }
  return rows;
}

/** SynchronizeModelState params: propertyInfo (remote properties) and an empty eventInfo (§12.4). */
export function modelStateParams(store: Store, t: Thing): InfoTable {
  const str = (name: string) => ({ name, description: '', baseType: 'STRING' as const, aspects: {} });
  const remote = [...store.thingProperties(t).values()].filter((d) => d.isRemote);
  const propertyInfo: InfoTable = {
    dataShape: [str('edgeName'), str('pushType'), { ...str('pushThreshold'), baseType: 'NUMBER' }, str('startType')],
    rows: remote.map((d) => [
      { baseType: 'STRING', value: d.remotePropertyName || d.name },
      { baseType: 'STRING', value: d.pushType || 'VALUE' },
      { baseType: 'NUMBER', value: d.pushThreshold },
      { baseType: 'STRING', value: 'useDefaultValue' },
    ]),
  };
  const eventInfo: InfoTable = { dataShape: [str('edgeName')], rows: [] };
  return infoTableFromValues({
    propertyInfo: { baseType: 'INFOTABLE', value: propertyInfo },
    eventInfo: { baseType: 'INFOTABLE', value: eventInfo },
  });
}
