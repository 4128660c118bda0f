/** The sandbox's parts in-process: device simulation, the tracker's accounting, the live table. */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { BridgeEvents } from '../../src/bridge/index.js';
import { createTestIO } from '../../src/cli/io.js';
import { DeviceSimulator, deviceUplink, radioOf, sandboxDevEui, sensorPayload } from '../../src/cli/sandbox/devices.js';
import { downlinkSentReport } from '../../src/cli/sandbox/downlinks.js';
import { logSandboxEvents } from '../../src/cli/sandbox/run.js';
import { LiveBlock, renderDeviceTable } from '../../src/cli/sandbox/table.js';
import { Tracker } from '../../src/cli/sandbox/tracker.js';
import { parseTunnelMessage as parseReport } from '../../src/thingpark/messages.js';
import { signUplink, verifyUplinkDetailed } from '../../src/thingpark/tunnel.js';

const plain = new Chalk({ level: 0 });

function outcome(devEui: string, fcnt: number, seq?: number) {
  return {
    devEui,
    n: 1,
    fcnt,
    radio: radioOf(1, fcnt),
    payloadHex: '00',
    status: seq ? 202 : 503,
    seq,
    duplicate: false,
  };
}

describe('sandbox devices', () => {
  it('names devices deterministically', () => {
    expect([1, 2, 10, 255].map(sandboxDevEui)).toEqual([
      '70B3D57ED0000001',
      '70B3D57ED0000002',
      '70B3D57ED000000A',
      '70B3D57ED00000FF',
    ]);
  });

  it('builds uplinks ThingPark would send, which parse and verify once signed', () => {
    const doc = deviceUplink(3, 7, new Date('2026-01-02T03:04:05Z'));
    const parsed = parseReport(doc);
    expect(parsed).toMatchObject({ kind: 'uplink', devEui: '70B3D57ED0000003', fCntUp: 7, fPort: 2 });
    expect(doc.DevEUI_uplink.payload_hex).toBe(sensorPayload(3, 7));
    expect(doc.DevEUI_uplink.LrrRSSI).toBe(radioOf(3, 7).rssi);
    const signed = signUplink(doc, { asId: 'as.sandbox', asKey: '0123456789abcdef0123456789abcdef' });
    const check = verifyUplinkDetailed({
      body: doc,
      query: signed.query,
      asKey: '0123456789abcdef0123456789abcdef',
      asId: 'as.sandbox',
    });
    expect(check.ok).toBe(true);
  });

  it('builds DevEUI_downlink_Sent reports that parse', () => {
    const doc = downlinkSentReport('70B3D57ED0000001', { fport: 3, correlationId: 'ABCDEF0123456789' }, 4, 9);
    expect(parseReport(doc)).toMatchObject({
      kind: 'downlinkSent',
      devEui: '70B3D57ED0000001',
      correlationId: 'ABCDEF0123456789',
      deliveryStatus: 1,
      fCntDn: 4,
    });
  });

  it('sends round robin, counting frames per device, and stop() waits for answers', async () => {
    const seen: string[] = [];
    let answered = 0;
    let seventh: () => void = () => undefined;
    const sevenAnswered = new Promise<void>((r) => {
      seventh = r;
    });
    const sim = new DeviceSimulator({
      devices: 3,
      rate: 1000,
      post: async (doc) => {
        const u = (doc as { DevEUI_uplink: { DevEUI: string; FCntUp: number } }).DevEUI_uplink;
        seen.push(`${u.DevEUI.slice(-1)}:${u.FCntUp}`);
        await new Promise((r) => setImmediate(r));
        return { status: 202, body: JSON.stringify({ status: 'accepted', seq: seen.length }) };
      },
      onUplink: (o) => {
        answered += 1;
        expect(o.seq).toBeGreaterThan(0);
        if (answered === 7) seventh();
      },
    });
    sim.start();
    await sevenAnswered;
    await sim.stop();
    expect(seen.slice(0, 6)).toEqual(['1:1', '2:1', '3:1', '1:2', '2:2', '3:2']);
    expect(answered).toBe(seen.length);
  });
});

describe('sandbox tracker', () => {
  it('counts an uplink delivered before its HTTP answer arrived once, as the simulator’s', () => {
    const t = new Tracker();
    t.onBridgeEvent('push.acked', { seq: 5, thing: '70B3D57ED0000001', kind: 'uplink', latencyMs: 1 });
    expect(t.summary().otherDelivered).toBe(1);
    t.uplinkSent(outcome('70B3D57ED0000001', 1, 5));
    const s = t.summary();
    expect(s.uplinks).toMatchObject({ sent: 1, delivered: 1, lost: 0 });
    expect(s.otherDelivered).toBe(0);
    expect(t.rows.get('70B3D57ED0000001')?.delivered).toBe(1);
    expect(t.undelivered).toBe(0);
  });

  it('counts refused, undelivered and dead-lettered uplinks as lost', () => {
    const t = new Tracker();
    t.uplinkSent(outcome('A', 1, 1));
    t.uplinkSent(outcome('A', 2, 2));
    t.uplinkSent(outcome('A', 3));
    t.onBridgeEvent('push.acked', { seq: 1, thing: 'A', kind: 'uplink', latencyMs: 1 });
    t.onBridgeEvent('dead.letter', { seq: 2, devEui: 'A', kind: 'uplink', reason: 'device cap' });
    expect(t.summary().uplinks).toMatchObject({ sent: 3, accepted: 2, rejected: 1, delivered: 1, lost: 2 });
    expect(t.undelivered).toBe(0);
  });

  it('moves a downlink forward only: written, queued, sent; a late queued does not undo sent', () => {
    const t = new Tracker();
    t.downlinkWritten('A', { correlationId: 'C1', fport: 3, payloadHex: '0201', simulated: true });
    expect(t.openDownlinks).toBe(1);
    t.onBridgeEvent('downlink.sent', { thing: 'A', fport: 3, correlationId: 'C1', result: 'queued' });
    expect(t.queuedDownlinks().map((d) => d.info.correlationId)).toEqual(['C1']);
    t.onBridgeEvent('downlink.report', { thing: 'A', correlationId: 'C1', delivered: true });
    t.onBridgeEvent('downlink.sent', { thing: 'A', fport: 3, correlationId: 'C1', result: 'queued' });
    expect(t.rows.get('A')?.lastDownlink?.state).toBe('sent');
    expect(t.summary().downlinks).toMatchObject({ sent: 1, confirmed: 1, lost: 0 });
    t.downlinkWritten('A', { correlationId: 'C2', fport: 3, payloadHex: '0202', simulated: true });
    t.onBridgeEvent('downlink.sent', { thing: 'A', fport: 3, correlationId: 'C2', result: 'rejected', reason: 'x' });
    expect(t.summary().downlinks).toMatchObject({ sent: 2, confirmed: 1, failed: 1, lost: 1 });
  });

  it('counts downlinks written while another connector held the Thing as taken, not lost', () => {
    const t = new Tracker();
    t.takenLeadMs = 1000;
    t.downlinkWritten('A', { correlationId: 'C1', fport: 3, payloadHex: '0201', simulated: true });
    t.thingTaken('A', Date.now() + 500); // noticed by the next bind check: C1 may have gone to the other
    expect(t.summary()).toMatchObject({ thingsTaken: 1, downlinks: { sent: 1, taken: 1, lost: 0 } });
    expect(t.openDownlinks).toBe(0);
    t.thingRecovered('A', Date.now() + 600);
    expect(t.summary().thingsTaken).toBe(0);
    const late = { correlationId: 'C2', fport: 3, payloadHex: '0202', simulated: true };
    t.downlinkWritten('B', late); // another device, never taken: still lost when not confirmed
    expect(t.summary().downlinks).toMatchObject({ sent: 2, taken: 1, lost: 1 });
  });

  it('shows downlinks written by someone else without counting them', () => {
    const t = new Tracker();
    t.onBridgeEvent('downlink.sent', { thing: 'B', fport: 1, correlationId: 'C9', result: 'queued' });
    expect(t.rows.get('B')?.lastDownlink?.state).toBe('queued');
    expect(t.summary().downlinks.sent).toBe(0);
    expect(t.openDownlinks).toBe(0);
  });

  it('waitUntil resolves on a change, or false at its timeout', async () => {
    const t = new Tracker();
    const w = t.waitUntil(() => t.summary().uplinks.sent === 1, 5_000);
    t.uplinkSent(outcome('A', 1, 1));
    expect(await w).toBe(true);
    expect(await t.waitUntil(() => false, 1)).toBe(false);
  });
});

describe('sandbox table', () => {
  it('renders a row per device with Thing state, radio, counts and the downlink status', () => {
    const t = new Tracker();
    t.uplinkSent(outcome('70B3D57ED0000001', 1, 1));
    t.onBridgeEvent('push.acked', { seq: 1, thing: '70B3D57ED0000001', kind: 'uplink', latencyMs: 1 });
    t.downlinkWritten('70B3D57ED0000001', { correlationId: 'C1', fport: 3, payloadHex: '0201', simulated: true });
    t.row('70B3D57ED0000001').decoded = 'temperature 21.5, humidity 48';
    t.row('70B3D57ED0000002');
    const lines = renderDeviceTable([...t.rows.values()], {
      now: Date.now(),
      color: plain,
      thing: (d) => (d.endsWith('1') ? 'bound' : 'none'),
      maxRows: 10,
      width: 120,
    });
    expect(lines[0]).toMatch(/^DevEUI +Thing +uplink +RSSI\/SNR +SF +ok\/sent +downlink:port +status +decoded$/);
    const r = radioOf(1, 1);
    expect(lines[1]).toMatch(
      new RegExp(
        `^70B3D57ED0000001 +bound +0s ago +${r.rssi}/${r.snr} +SF${r.spreadingFactor} +1/1 +0201:3 0s ago +written +temperature 21.5, humidity 48$`,
      ),
    );
    expect(lines[2]).toMatch(/^70B3D57ED0000002 +- +- +- +- +0 +- +- +-$/);
    const few = renderDeviceTable([...t.rows.values()], {
      now: Date.now(),
      color: plain,
      thing: () => 'none',
      maxRows: 1,
    });
    expect(few).toHaveLength(3);
    expect(few.at(-1)).toBe('… and 1 more device(s)');
  });

  it('shows a Thing taken by another session, within 80 columns', () => {
    const t = new Tracker();
    t.row('70B3D57ED0000001');
    t.row('70B3D57ED0000002');
    const lines = renderDeviceTable([...t.rows.values()], {
      now: Date.now(),
      color: plain,
      thing: (d) => (d.endsWith('1') ? 'taken' : 'bound'),
      maxRows: 10,
      width: 80,
    });
    expect(lines[1]).toMatch(/^70B3D57ED0000001 +taken /);
    expect(lines.at(-1)).toBe('taken: 1 Thing(s) taken by another session (another connector)');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
  });

  it('redraws in place: moves up over the lines drawn before, counting wrapped lines', () => {
    let screen = '';
    const block = new LiveBlock(
      (s) => {
        screen += s;
      },
      () => 20,
    );
    block.draw(['a', 'b'.repeat(30)]);
    expect(screen).toBe(`a\n${'b'.repeat(30)}\n`);
    screen = '';
    block.draw(['c']);
    expect(screen).toBe('\x1b[3F\x1b[0Jc\n');
  });
});

describe('sandbox log of bridge events', () => {
  it('says warnings only, by the level the payload decides: one outage is one warning, a refused request one', () => {
    const t = createTestIO();
    const events = new BridgeEvents();
    logSandboxEvents(t.io, events, new Tracker(), { live: false, lastProblem: '' });
    events.emit('pipe.down', { pipe: 0, cause: 'ping_timeout', error: 'ThingWorx said nothing.' });
    events.emit('sink.reconnect', { pipe: 0, attempt: 1, delayMs: 199, cause: 'ping_timeout', error: 'silent' });
    const failing = { cause: 'ping_timeout', error: 'silent', count: 1, things: 1, thing: 'T', retryInMs: 100 };
    events.emit('push.failing', { ...failing, windowMs: 10_000, outage: true });
    events.emit('platform.request', { pipe: 0, method: 'GET', thing: 'T', name: 'x', code: 'NOT_FOUND' });
    const warned = t.stderr.text.split('\n').filter(Boolean);
    expect(warned, t.stderr.text).toHaveLength(2);
    expect(warned[0]).toMatch(/ThingWorx pipe 0 down/);
    expect(warned[1]).toMatch(/ThingWorx GET T\/x answered NOT_FOUND/);
  });
});
