/**
 * `tpx thing watch`: reports each new uplink of one Thing until the signal aborts. Polls the Thing's logged
 * history (QueryPropertyHistory, so that uplinks arriving between two polls are all seen) at a fixed interval;
 * when the platform has no history for the Thing, polls its current uplinkData instead (then only the latest
 * uplink of each interval is seen). Never busy-loops: one request, then a timer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ThingWorxError } from './errors.js';
import { isoDate, THING_PROPS, type ThingsClient, thingNotFound } from './things.js';
import { decodeMessage, summarizeUplink, type UplinkSummary } from './things-uplink.js';
import { parsePropertyDefinitions } from './types.js';

export interface WatchedUplink {
  thing: string;
  /** When ThingWorx stored the value (ISO). */
  receivedAt?: string;
  summary: UplinkSummary;
  uplink: Record<string, unknown>;
  kind?: string;
}

export interface WatchOptions {
  intervalMs?: number;
  signal: AbortSignal;
  onUplink: (u: WatchedUplink) => void;
  /** Called once the starting point is known (tests and the CLI wait for it). */
  onReady?: (mode: 'history' | 'poll') => void;
  /**
   * A poll failed for a reason that may pass (no answer, 5xx): the watch goes on at the next interval.
   * Other errors (key rejected, Thing deleted, …) end the watch.
   */
  onTransientError?: (err: ThingWorxError) => void;
  /** Max rows per history query. */
  pageSize?: number;
}

/** The shortest polling interval, ms. */
export const MIN_INTERVAL = 100;

function stamp(row: Record<string, unknown>): number {
  const t = row.timestamp ?? row.time;
  const iso = isoDate(t);
  return iso ? Date.parse(iso) : 0;
}

function toUplink(thing: string, value: unknown, at?: number): WatchedUplink | undefined {
  const d = decodeMessage(value);
  if (!d) return undefined;
  return {
    thing,
    ...(at ? { receivedAt: new Date(at).toISOString() } : {}),
    summary: summarizeUplink(d.body),
    uplink: d.body,
    ...(d.kind ? { kind: d.kind } : {}),
  };
}

async function history(client: ThingsClient, thing: string, from: number, pageSize: number) {
  const rows = await client.queryPropertyHistory(thing, {
    ...(from > 0 ? { startDate: new Date(from) } : {}),
    maxItems: pageSize,
    oldestFirst: true,
  });
  return rows.filter((r) => r[THING_PROPS.uplink] !== undefined && r[THING_PROPS.uplink] !== null);
}

/** Whether the Thing's uplinkData property is logged (has a history); false when the platform does not say. */
async function uplinkLogged(client: ThingsClient, thing: string): Promise<boolean> {
  try {
    const it = await client.service(`Things/${thing}`, 'GetPropertyDefinitions', {});
    const def = parsePropertyDefinitions(it).find((d) => d.name === THING_PROPS.uplink);
    return def?.isLogged === true;
  } catch (err) {
    if (err instanceof ThingWorxError && err.status !== 401 && err.status !== 0) return false;
    throw err;
  }
}

/** Watches until options.signal aborts; resolves then (never rejects on abort). */
export async function watchUplinks(client: ThingsClient, thing: string, options: WatchOptions): Promise<void> {
  const interval = Math.max(MIN_INTERVAL, options.intervalMs ?? 2000);
  const pageSize = options.pageSize ?? 500;
  const { signal } = options;
  const props = await currentProperties(client, thing);
  // History only when the platform logs uplinkData; otherwise (or when it cannot say) poll the current value.
  const start = (await uplinkLogged(client, thing)) ? await historyStart(client, thing) : undefined;
  const mode = start ? 'history' : 'poll';
  const cursor: HistoryCursor = start ?? { at: 0, seen: new Set() };
  const current = { last: JSON.stringify(props[THING_PROPS.uplink] ?? null) };
  options.onReady?.(mode);
  while (!signal.aborted) {
    try {
      await sleep(interval, undefined, { signal });
    } catch {
      /* aborted */
    }
    if (signal.aborted) break;
    try {
      if (mode === 'history')
        await pollHistory(client, thing, cursor, { pageSize, signal, onUplink: options.onUplink });
      else await pollCurrent(client, thing, current, options.onUplink);
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof ThingWorxError && (err.status === 0 || err.status >= 500) && err.code !== 'TPX_TWX_TLS') {
        options.onTransientError?.(err);
        continue;
      }
      throw err;
    }
  }
}

/** Where the history was read up to: the newest time seen, and the uplinks seen at that very time. */
interface HistoryCursor {
  at: number;
  seen: Set<string>;
}

/** The Thing's properties; a missing Thing is TPX_THING_NOT_FOUND. */
async function currentProperties(client: ThingsClient, thing: string): Promise<Record<string, unknown>> {
  try {
    return await client.getProperties(thing);
  } catch (err) {
    if (err instanceof ThingWorxError && err.code === 'TPX_TWX_NOT_FOUND') throw thingNotFound(thing, err);
    throw err;
  }
}

/**
 * The starting point: the newest stored uplink (platform time, so the local clock does not matter); undefined
 * when the history cannot be read (then the current value is polled).
 */
async function historyStart(client: ThingsClient, thing: string): Promise<HistoryCursor | undefined> {
  const cursor: HistoryCursor = { at: 0, seen: new Set() };
  try {
    const newest = await client.queryPropertyHistory(thing, { maxItems: 1, oldestFirst: false });
    const row = newest[0];
    if (row) {
      cursor.at = stamp(row);
      if (row[THING_PROPS.uplink] !== undefined) cursor.seen.add(JSON.stringify(row[THING_PROPS.uplink]));
    }
    return cursor;
  } catch (err) {
    if (!(err instanceof ThingWorxError) || err.status === 401 || err.status === 0) throw err;
    return undefined;
  }
}

/** Reports every uplink stored after the cursor (page after page), and moves the cursor. */
async function pollHistory(
  client: ThingsClient,
  thing: string,
  cursor: HistoryCursor,
  o: { pageSize: number; signal: AbortSignal; onUplink: (u: WatchedUplink) => void },
): Promise<void> {
  let rows = await history(client, thing, cursor.at, o.pageSize);
  while (rows.length > 0 && !o.signal.aborted) {
    let advanced = false;
    for (const r of rows) {
      const t = stamp(r);
      const key = JSON.stringify(r[THING_PROPS.uplink]);
      if (t < cursor.at || (t === cursor.at && cursor.seen.has(key))) continue;
      if (t > cursor.at) {
        cursor.at = t;
        cursor.seen = new Set();
      }
      cursor.seen.add(key);
      advanced = true;
      const u = toUplink(thing, r[THING_PROPS.uplink], t || undefined);
      if (u) o.onUplink(u);
    }
    if (!advanced || rows.length < o.pageSize) break;
    rows = await history(client, thing, cursor.at, o.pageSize);
  }
}

/** Reports the current uplink when it changed since the last poll. */
async function pollCurrent(
  client: ThingsClient,
  thing: string,
  state: { last: string },
  onUplink: (u: WatchedUplink) => void,
): Promise<void> {
  const now = await client.getProperties(thing);
  const cur = JSON.stringify(now[THING_PROPS.uplink] ?? null);
  if (cur === state.last) return;
  state.last = cur;
  const at = isoDate(now[THING_PROPS.lastUplinkTime]);
  const u = toUplink(thing, now[THING_PROPS.uplink], at ? Date.parse(at) : undefined);
  if (u) onUplink(u);
}
