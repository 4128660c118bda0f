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
  const wait = async () => {
    try {
      await sleep(interval, undefined, { signal });
    } catch {
      /* aborted */
    }
  };
  let props: Record<string, unknown>;
  try {
    props = await client.getProperties(thing);
  } catch (err) {
    if (err instanceof ThingWorxError && err.code === 'TPX_TWX_NOT_FOUND') throw thingNotFound(thing, err);
    throw err;
  }
  // History only when the platform logs uplinkData; otherwise (or when it cannot say) poll the current value.
  let mode: 'history' | 'poll' = (await uplinkLogged(client, thing)) ? 'history' : 'poll';
  // Starting point: the newest stored uplink (platform time, so the local clock does not matter).
  let cursor = 0;
  let seenAtCursor = new Set<string>();
  if (mode === 'history') {
    try {
      const newest = await client.queryPropertyHistory(thing, { maxItems: 1, oldestFirst: false });
      const row = newest[0];
      if (row) {
        cursor = stamp(row);
        if (row[THING_PROPS.uplink] !== undefined) seenAtCursor.add(JSON.stringify(row[THING_PROPS.uplink]));
      }
    } catch (err) {
      if (!(err instanceof ThingWorxError) || err.status === 401 || err.status === 0) throw err;
      mode = 'poll';
    }
  }
  let last = JSON.stringify(props[THING_PROPS.uplink] ?? null);
  options.onReady?.(mode);
  while (!signal.aborted) {
    await wait();
    if (signal.aborted) break;
    try {
      if (mode === 'history') {
        let rows = await history(client, thing, cursor, pageSize);
        while (rows.length > 0 && !signal.aborted) {
          let advanced = false;
          for (const r of rows) {
            const t = stamp(r);
            const key = JSON.stringify(r[THING_PROPS.uplink]);
            if (t < cursor || (t === cursor && seenAtCursor.has(key))) continue;
            if (t > cursor) {
              cursor = t;
              seenAtCursor = new Set();
            }
            seenAtCursor.add(key);
            advanced = true;
            const u = toUplink(thing, r[THING_PROPS.uplink], t || undefined);
            if (u) options.onUplink(u);
          }
          if (!advanced || rows.length < pageSize) break;
          rows = await history(client, thing, cursor, pageSize);
        }
      } else {
        const now = await client.getProperties(thing);
        const cur = JSON.stringify(now[THING_PROPS.uplink] ?? null);
        if (cur !== last) {
          last = cur;
          const at = isoDate(now[THING_PROPS.lastUplinkTime]);
          const u = toUplink(thing, now[THING_PROPS.uplink], at ? Date.parse(at) : undefined);
          if (u) options.onUplink(u);
        }
      }
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
