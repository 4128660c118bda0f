/**
 * Reading device Things for `tpx thing list|show`: the Things of the Thing Template (paged, with their
 * connection state and last uplink time) and one Thing in full (all properties, the latest uplink decoded,
 * the last downlink and its status). Thing name = DevEUI (16 upper-case hex digits), as the bridge creates them.
 */
import { TpxError } from '../errors.js';
import { isCanonicalDevEui } from '../util/hex.js';
import { ThingWorxError } from './errors.js';
import { asInfoTable, type InfoTableJson, type ThingWorxRest } from './rest.js';
import { TEMPLATE_PROPERTY_NAMES as N } from './template.js';
import { type DecodedMessage, decodeMessage, summarizeUplink, type UplinkSummary } from './things-uplink.js';

/** Property names tpx reads: the Actility Thing Template's (template.ts) and RemoteThing's. */
export const THING_PROPS = {
  uplink: N.uplinkData,
  downlink: N.downlink,
  downlinkStatus: N.downlinkStatus,
  lastUplinkTime: N.lastUplinkTime,
  isConnected: 'isConnected',
  lastConnection: 'lastConnection',
  template: 'thingTemplate',
} as const;

export type ThingsClient = Pick<
  ThingWorxRest,
  'service' | 'call' | 'getProperties' | 'getEntityList' | 'queryPropertyHistory'
>;

export interface ThingRow {
  name: string;
  isConnected?: boolean;
  /** ISO date-time. */
  lastConnection?: string;
  lastUplinkTime?: string;
}

export interface ThingPage {
  template: string;
  offset: number;
  maxItems: number;
  /** Things of the template in all (undefined when the platform does not say). */
  total?: number;
  things: ThingRow[];
  /** Offset of the next page, or undefined on the last page. */
  nextOffset?: number;
  /** How the list was read: the template's QueryImplementingThings service, or a scan of Thing names. */
  source: 'QueryImplementingThingsOptimizedWithTotalCount' | 'GetEntityList';
}

/** A DATETIME value (epoch ms or ISO text) as ISO text; undefined for none. */
export function isoDate(v: unknown): string | undefined {
  if (v === null || v === undefined || v === '' || v === 0) return undefined;
  const d = typeof v === 'number' || /^\d+$/.test(String(v)) ? new Date(Number(v)) : new Date(String(v));
  return Number.isNaN(d.getTime()) || d.getTime() <= 0 ? undefined : d.toISOString();
}

function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

function toRow(name: string, props: Record<string, unknown>): ThingRow {
  const row: ThingRow = { name };
  const c = bool(props[THING_PROPS.isConnected]);
  if (c !== undefined) row.isConnected = c;
  const lc = isoDate(props[THING_PROPS.lastConnection]);
  if (lc) row.lastConnection = lc;
  const lu = isoDate(props[THING_PROPS.lastUplinkTime]);
  if (lu) row.lastUplinkTime = lu;
  return row;
}

function nameList(names: string[]) {
  return {
    dataShape: { fieldDefinitions: { name: { name: 'name', baseType: 'STRING' } } },
    rows: names.map((name) => ({ name })),
  };
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function isMissingService(err: unknown): boolean {
  if (!(err instanceof ThingWorxError)) return false;
  return (
    err.status === 405 ||
    (err.status === 404 && /service/i.test(err.platformText) && !/Entity Not Found/i.test(err.platformText))
  );
}

function isMissingTemplate(err: unknown, template: string): boolean {
  return (
    err instanceof ThingWorxError &&
    err.code === 'TPX_TWX_NOT_FOUND' &&
    (err.details?.entity === template || err.platformText.includes(`[${template}]`))
  );
}

/**
 * One page of the Things implementing `template`, sorted by name. Uses the template's
 * QueryImplementingThingsOptimizedWithTotalCount (asking for the connection properties in the same call); when
 * the platform lacks it, lists the Things named like DevEUIs and keeps those of the template.
 */
export async function listThings(
  client: ThingsClient,
  options: { template: string; offset?: number; maxItems?: number },
): Promise<ThingPage> {
  const offset = Math.max(0, options.offset ?? 0);
  const maxItems = Math.max(1, options.maxItems ?? 100);
  const wanted = [THING_PROPS.isConnected, THING_PROPS.lastConnection, THING_PROPS.lastUplinkTime];
  try {
    const it = await client.service(
      `ThingTemplates/${options.template}`,
      'QueryImplementingThingsOptimizedWithTotalCount',
      { maxItems, offset, propertyNames: nameList(wanted), basicPropertyNames: nameList(['name']) },
    );
    let rows = it.rows;
    let total: number | undefined;
    const nested = rows[0]?.rootEntityList as { rows?: Record<string, unknown>[] } | undefined;
    if (nested && Array.isArray(nested.rows)) {
      total = Number(rows[0]?.totalCount);
      rows = nested.rows;
    } else if (rows[0] && 'totalCount' in rows[0]) {
      total = Number(rows[0].totalCount);
    }
    // A platform that honours propertyNames returns them in the rows (a property without a value is left out);
    // one that ignores it returns none, and each Thing's properties are read.
    const honoured = rows.some((r) => wanted.some((p) => p in r));
    const things = await mapLimit(rows, 8, async (r) => {
      const name = String(r.name ?? '');
      return toRow(name, honoured ? r : { ...r, ...(await client.getProperties(name)) });
    });
    things.sort((a, b) => a.name.localeCompare(b.name));
    const t = Number.isFinite(total) ? total : undefined;
    const more = t !== undefined ? offset + things.length < t : things.length === maxItems;
    return {
      template: options.template,
      offset,
      maxItems,
      ...(t !== undefined ? { total: t } : {}),
      things,
      ...(more ? { nextOffset: offset + things.length } : {}),
      source: 'QueryImplementingThingsOptimizedWithTotalCount',
    };
  } catch (err) {
    if (isMissingTemplate(err, options.template)) {
      throw new TpxError(
        'TPX_TEMPLATE_NOT_FOUND',
        `Thing Template ${options.template} not found on ThingWorx (or not visible to the key's user).`,
        {
          fix: { id: 'template-name', template: options.template },
          cause: err,
          details: { setting: 'template', template: options.template },
        },
      );
    }
    if (!isMissingService(err)) throw err;
  }
  return listByScan(client, options.template, offset, maxItems);
}

async function listByScan(
  client: ThingsClient,
  template: string,
  offset: number,
  maxItems: number,
): Promise<ThingPage> {
  const rows = await client.getEntityList('Thing', { maxItems: 100_000 });
  const names = rows
    .map((r) => r.name)
    .filter(isCanonicalDevEui)
    .sort();
  const things: ThingRow[] = [];
  let i = offset;
  // Read just enough Things to fill the page with those of the template.
  while (things.length < maxItems && i < names.length) {
    const batch = names.slice(i, i + (maxItems - things.length));
    i += batch.length;
    const props = await mapLimit(batch, 8, (n) => client.getProperties(n));
    batch.forEach((n, k) => {
      if (props[k]![THING_PROPS.template] === template) things.push(toRow(n, props[k]!));
    });
  }
  return {
    template,
    offset,
    maxItems,
    things,
    ...(i < names.length ? { nextOffset: i } : {}),
    source: 'GetEntityList',
  };
}

export interface ThingDetails {
  name: string;
  template?: string;
  isConnected?: boolean;
  lastConnection?: string;
  lastUplinkTime?: string;
  /** Every property, by name, as ThingWorx returns it (DATETIME as epoch ms). */
  properties: Record<string, unknown>;
  /** Base type of each property, when the platform says (the infotable's data shape). */
  propertyTypes: Record<string, string>;
  uplink?: DecodedMessage & { summary: UplinkSummary };
  downlink?: DecodedMessage;
  downlinkStatus?: unknown;
}

/** Everything about one device Thing. A missing Thing is TPX_THING_NOT_FOUND. */
export async function showThing(client: ThingsClient, name: string): Promise<ThingDetails> {
  let it: InfoTableJson;
  try {
    it = asInfoTable(await client.call('GET', `Things/${name}/Properties`));
  } catch (err) {
    if (err instanceof ThingWorxError && err.code === 'TPX_TWX_NOT_FOUND') throw thingNotFound(name, err);
    throw err;
  }
  const props = it.rows[0] ?? {};
  const propertyTypes: Record<string, string> = {};
  for (const [k, f] of Object.entries(it.dataShape?.fieldDefinitions ?? {}))
    if (f?.baseType) propertyTypes[k] = f.baseType;
  const row = toRow(name, props);
  const details: ThingDetails = { ...row, properties: props, propertyTypes };
  const tt = props[THING_PROPS.template];
  if (typeof tt === 'string' && tt) details.template = tt;
  const up = decodeMessage(props[THING_PROPS.uplink]);
  if (up) details.uplink = { ...up, summary: summarizeUplink(up.body) };
  const down = decodeMessage(props[THING_PROPS.downlink]);
  if (down) details.downlink = down;
  const status = props[THING_PROPS.downlinkStatus];
  if (status !== undefined && status !== null && status !== '')
    details.downlinkStatus = decodeMessage(status)?.body ?? status;
  return details;
}

export function thingNotFound(name: string, cause?: unknown): TpxError {
  return new TpxError('TPX_THING_NOT_FOUND', `No Thing named ${name} on ThingWorx (or the key's user cannot see it).`, {
    fix: { id: 'thing-not-found' },
    cause,
  });
}
