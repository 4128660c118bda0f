/**
 * The sandbox's live table on a TTY: one row per device (Thing bound, last uplink, RSSI/SNR, uplinks delivered,
 * last downlink and its status) under a totals line, redrawn in place.
 */
import type { ChalkInstance } from 'chalk';
import type { DeviceRow, DownlinkState, SandboxSummary } from './tracker.js';

export type ThingState = 'bound' | 'unbound' | 'none';

export interface TableOptions {
  now: number;
  color: ChalkInstance;
  thing: (devEui: string) => ThingState;
  /** Rows shown at most (the rest are counted in a last line). */
  maxRows: number;
}

const HEAD = ['DevEUI', 'Thing', 'last uplink', 'RSSI/SNR', 'SF', 'delivered', 'last downlink', 'status', 'decoded'];

export function ago(now: number, t: number | undefined): string {
  if (t === undefined) return '-';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s ago`;
  return `${Math.floor(s / 3600)}h ago`;
}

function stateColor(c: ChalkInstance, s: DownlinkState | ThingState, text: string): string {
  if (s === 'sent' || s === 'bound') return c.green(text);
  if (s === 'queued' || s === 'written' || s === 'unbound') return c.yellow(text);
  if (s === 'none') return c.dim(text);
  return c.red(text);
}

/** Length of a text as shown (ANSI colour codes do not count). */
export function visibleLength(text: string): number {
  return text.replace(/\x1b\[[0-9;]*m/g, '').length;
}

/** Pads to width ignoring ANSI colour codes. */
function pad(text: string, width: number): string {
  const visible = visibleLength(text);
  return text + ' '.repeat(Math.max(0, width - visible));
}

/** The table's lines (no trailing newline). */
export function renderDeviceTable(rows: DeviceRow[], o: TableOptions): string[] {
  const c = o.color;
  const shown = rows.slice(0, Math.max(1, o.maxRows));
  const cells = shown.map((r) => {
    const t = o.thing(r.devEui);
    const d = r.lastDownlink;
    return [
      r.devEui,
      stateColor(c, t, t === 'none' ? '-' : t),
      ago(o.now, r.lastDeliveredAt),
      r.rssi === undefined ? '-' : `${r.rssi} dBm / ${r.snr} dB`,
      r.spreadingFactor === undefined ? '-' : `SF${r.spreadingFactor}`,
      r.sent > 0 ? `${r.delivered}/${r.sent}` : String(r.delivered),
      d ? `${d.payloadHex || '?'} port ${d.fport || '?'} ${ago(o.now, d.writtenAt)}` : '-',
      d ? stateColor(c, d.state, d.state.replace('_', ' ')) : '-',
      r.decoded ?? '-',
    ];
  });
  const widths = HEAD.map((h, i) => Math.max(h.length, ...cells.map((row) => visibleLength(row[i]!))));
  const line = (row: string[]) =>
    row
      .map((cell, i) => pad(cell, widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [c.bold(line(HEAD)), ...cells.map(line)];
  if (rows.length > shown.length) out.push(c.dim(`… and ${rows.length - shown.length} more device(s)`));
  return out;
}

export function totalsLine(s: SandboxSummary, c: ChalkInstance): string {
  const u = s.uplinks;
  const d = s.downlinks;
  const waiting = u.accepted - u.delivered;
  return (
    `uplinks ${u.sent} sent · ${u.delivered} delivered · ${waiting} on the way` +
    (u.rejected ? ` · ${c.red(`${u.rejected} refused`)}` : '') +
    `   downlinks ${d.sent} written · ${d.confirmed} confirmed` +
    (d.failed ? ` · ${c.red(`${d.failed} failed`)}` : '')
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
