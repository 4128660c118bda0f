/** The one table helper: aligned and fitted on a terminal, tab-separated when piped, never boxed. */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { createTestIO } from '../../src/cli/io.js';
import { radioOf, sandboxDevEui } from '../../src/cli/sandbox/devices.js';
import { renderDeviceTable, totalsLine } from '../../src/cli/sandbox/table.js';
import { Tracker } from '../../src/cli/sandbox/tracker.js';
import { fitWidths, renderKeyValues, renderTable, truncate } from '../../src/cli/table.js';

const BOX = /[─│┌┐└┘├┤┬┴┼═║╔╗╚╝+|]/;
const ANSI = /\x1b\[/;

const head = ['id', 'name', 'detail'];
const rows = [
  [1, 'short', 'a fairly long detail that a person would want to read when it fits on the screen'],
  [22, 'a much longer name than the others', 'x'],
];

describe('renderTable', () => {
  it('on an 80-column terminal aligns columns and cuts the widest with "…" so that every line fits', () => {
    const out = renderTable(head, rows, { tty: true, width: 80 }).split('\n');
    expect(out).toHaveLength(3);
    for (const l of out) expect(l.length).toBeLessThanOrEqual(80);
    expect(out[0]).toMatch(/^id {2,}name {2,}detail$/);
    expect(out[1]).toMatch(/^1 {2,}short {2,}a fairly long detail .*…$/);
    expect(out[2]).toMatch(/^22 {2,}a much longer name than the others {2,}x$/);
    // columns line up: "name" starts where the names start
    expect(out[1]!.indexOf('short')).toBe(out[0]!.indexOf('name'));
    expect(out.join('\n')).not.toMatch(BOX);
  });

  it('keeps a short table as is on a wide terminal', () => {
    const out = renderTable(['a', 'b'], [['1', '2']], { tty: true, width: 200 });
    expect(out).toBe('a  b\n1  2');
  });

  it('piped: tab-separated rows, no header, no colour, nothing cut', () => {
    const c = new Chalk({ level: 1 });
    const out = renderTable(head, [...rows, [3, c.green('ok'), 'tab\there']], { tty: false, width: 20 });
    expect(out.split('\n')).toEqual([
      `1\tshort\t${rows[0]![2]}`,
      '22\ta much longer name than the others\tx',
      '3\tok\ttab here',
    ]);
    expect(out).not.toMatch(ANSI);
  });

  it('fitWidths takes from the widest column first and never below the floor', () => {
    expect(fitWidths([10, 30, 10], 40)).toEqual([10, 16, 10]);
    expect(fitWidths([10, 10], 5)).toEqual([5, 5]);
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
  });

  it('renders one object as key: value lines, or key<TAB>value when piped', () => {
    const kv: [string, string][] = [
      ['id', '7'],
      ['hostName', 'twx.example.com:443'],
    ];
    expect(renderKeyValues(kv, { tty: true, width: 80 })).toBe('id:       7\nhostName: twx.example.com:443');
    expect(renderKeyValues(kv, { tty: false })).toBe('id\t7\nhostName\ttwx.example.com:443');
  });

  it('IO.table follows stdout: aligned on a terminal, tab-separated in a pipe', () => {
    const tty = createTestIO({ tty: true, env: { NO_COLOR: '1' } });
    expect(tty.io.table(['a', 'b'], [['1', '2']])).toBe('a  b\n1  2');
    const piped = createTestIO();
    expect(piped.io.table(['a', 'b'], [['1', '2']])).toBe('1\t2');
  });
});

describe('the sandbox table at 80x24', () => {
  it('shows 20 devices, every line within 80 columns, no box characters', () => {
    const t = new Tracker();
    for (let n = 1; n <= 20; n++) {
      const devEui = sandboxDevEui(n);
      t.uplinkSent({
        devEui,
        n,
        fcnt: 1234,
        radio: radioOf(n, 1234),
        payloadHex: '00',
        status: 202,
        seq: n,
        duplicate: false,
      });
      t.onBridgeEvent('push.acked', { seq: n, thing: devEui, kind: 'uplink', latencyMs: 1 });
      t.downlinkWritten(devEui, { correlationId: `C${n}`, fport: 223, payloadHex: '02010a0b0c', simulated: true });
    }
    const plain = new Chalk({ level: 0 });
    const lines = [
      totalsLine(t.summary(), plain),
      ...renderDeviceTable([...t.rows.values()], {
        now: Date.now() + 3_599_000,
        color: plain,
        thing: () => 'unbound',
        maxRows: 24 - 4,
        width: 79,
      }),
      '',
    ];
    expect(lines.filter((l) => /^70B3D57ED0/.test(l))).toHaveLength(20);
    expect(lines.length).toBeLessThanOrEqual(23);
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(79);
    expect(lines.join('\n')).not.toMatch(/[─│┌┐└┘├┤┬┴┼]/);
  });
});
