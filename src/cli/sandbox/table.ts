/**
 * The sandbox's live table on a TTY: one row per device (Thing bound, last uplink, RSSI/SNR, uplinks delivered,
 * last downlink and its status) under a totals line, redrawn in place.
 */
import type { ChalkInstance } from 'chalk';
import { renderTable, truncate, visibleLength } from '../table.js';
import type { DeviceRow, DownlinkState, SandboxSummary } from './tracker.js';

/** The device's Thing as the bridge holds it: bound, taken by another session, unbound (refused, lost), none. */
export type ThingState = 'bound' | 'taken' | 'unbound' | 'none';

export interface TableOptions {
  now: number;
  color: ChalkInstance;
  thing: (devEui: string) => ThingState;
  /** Device lines shown at most (when there are more, the last of them counts the rest). */
  maxRows: number;
  /** Terminal width (default 80). */
  width?: number;
}

const HEAD = ['DevEUI', 'Thing', 'uplink', 'RSSI/SNR', 'SF', 'ok/sent', 'downlink:port', 'status'];
/** The decoded column (payload drivers) is shown from this width on: at 80 columns the other eight fill the line. */
const DECODED_FROM_WIDTH = 100;

export function ago(now: number, t: number | undefined): string {
  if (t === undefined) return '-';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s ago`;
  return `${Math.floor(s / 3600)}h ago`;
}

function stateColor(c: ChalkInstance, s: DownlinkState | ThingState, text: string): string {
  if (s === 'sent' || s === 'bound') return c.green(text);
  if (s === 'queued' || s === 'written' || s === 'unbound' || s === 'taken') return c.yellow(text);
  if (s === 'none') return c.dim(text);
  return c.red(text);
}

/**
 * The table's lines (no trailing newline), through the one table helper: at most `maxRows` lines of devices (the
 * last one says how many more there are when they do not all fit), cut to `width` columns.
 */
export function renderDeviceTable(rows: DeviceRow[], o: TableOptions): string[] {
  const c = o.color;
  const budget = Math.max(1, o.maxRows);
  const shown = rows.length > budget ? rows.slice(0, Math.max(1, budget - 1)) : rows;
  const width = o.width ?? 80;
  const decoded = width >= DECODED_FROM_WIDTH && rows.some((r) => r.decoded !== undefined);
  const cells = shown.map((r) => {
    const t = o.thing(r.devEui);
    const d = r.lastDownlink;
    return [
      r.devEui,
      stateColor(c, t, t === 'none' ? '-' : t),
      ago(o.now, r.lastDeliveredAt),
      r.rssi === undefined ? '-' : `${r.rssi}/${r.snr}`,
      r.spreadingFactor === undefined ? '-' : `SF${r.spreadingFactor}`,
      r.sent > 0 ? `${r.delivered}/${r.sent}` : String(r.delivered),
      d ? `${d.payloadHex || '?'}:${d.fport || '?'} ${ago(o.now, d.writtenAt)}` : '-',
      d ? stateColor(c, d.state, d.state.replace('_', ' ')) : '-',
      ...(decoded ? [r.decoded ?? '-'] : []),
    ];
  });
  const table = renderTable(decoded ? [...HEAD, 'decoded'] : HEAD, cells, {
    tty: true,
    width,
    head: (t) => c.bold(t),
    minWidths: [16],
  });
  const out = table.split('\n');
  if (rows.length > shown.length) out.push(c.dim(`… and ${rows.length - shown.length} more device(s)`));
  const taken = rows.filter((r) => o.thing(r.devEui) === 'taken').length;
  if (taken)
    out.push(c.yellow(truncate(`taken: ${taken} Thing(s) taken by another session (another connector)`, width)));
  return out;
}

export function totalsLine(s: SandboxSummary, c: ChalkInstance): string {
  const u = s.uplinks;
  const d = s.downlinks;
  const waiting = u.accepted - u.delivered;
  return (
    `uplinks ${u.sent} sent · ${u.delivered} delivered · ${waiting} waiting` +
    (u.rejected ? ` · ${c.red(`${u.rejected} refused`)}` : '') +
    `   downlinks ${d.sent} written · ${d.confirmed} confirmed` +
    (d.failed ? ` · ${c.red(`${d.failed} failed`)}` : '') +
    (d.taken ? ` · ${c.yellow(`${d.taken} taken`)}` : '')
  );
}

/** Redraws a block of lines in place (cursor up over the previous drawing, clear to the end of the screen). */
export class LiveBlock {
  private lines = 0;

  constructor(
    private readonly write: (text: string) => void,
    /** Terminal width, to count the lines a long line wraps onto. */
    private readonly columns: () => number = () => 120,
  ) {}

  draw(lines: string[]): void {
    const up = this.lines > 0 ? `\x1b[${this.lines}F\x1b[0J` : '';
    this.write(`${up}${lines.join('\n')}\n`);
    const width = Math.max(20, this.columns());
    this.lines = lines.reduce((n, l) => n + Math.max(1, Math.ceil(visibleLength(l) / width)), 0);
  }

  /** Forgets the drawing (what is on screen stays). */
  release(): void {
    this.lines = 0;
  }
}
