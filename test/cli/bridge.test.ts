/** End to end through bin/tpx.js: `tpx bridge`, `tpx uplink send`, `tpx downlink push` with both emulators. */
import { afterEach, describe, expect, it } from 'vitest';
import { signUplink } from '../../src/thingpark/tunnel.js';
import { uplinkDoc } from '../bridge/helpers.js';
import { runInProcess as runTpx } from '../helpers/run.js';
import { startBridgeProcess, type World, world } from './bridge-helpers.js';

const DEV = '70B3D57ED0000001';
const KNOWN = '70B3D57ED00000AA';

describe('tpx bridge end to end', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('an uplink becomes property values readable through REST; a new DevEUI creates its Thing; downlinks reach ThingPark', async () => {
    w = await world([KNOWN]);
    const b = await startBridgeProcess(w);
    await b.event('bridge.ready');
    expect(w.twx.boundThings()).toContain(KNOWN);

    const sent = await runTpx(
      [
        'uplink',
        'send',
        '--url',
        b.url,
        '--dev-eui',
        DEV.toLowerCase(),
        '--fport',
        '7',
        '--payload',
        '0102ff',
        '--fcnt',
        '17',
        '--json',
      ],
      { env: w.env },
    );
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ sent: 1, accepted: 1, rejected: {} });
    await b.event('push.acked', (e) => e.thing === DEV);
    expect((await b.event('thing.created')).thing).toBe(DEV);
    const props = await w.rest.getProperties(DEV);
    expect(props).toMatchObject({ DevEUI: DEV, FCntUp: 17, FPort: 7, payloadHex: '0102ff' });
    const uplinkData = typeof props.uplinkData === 'string' ? JSON.parse(props.uplinkData) : props.uplinkData;
    expect(uplinkData.DevEUI_uplink.FCntUp).toBe(17);

    // downlink written in ThingWorx (the path an application uses) reaches the ThingPark emulator, signed
    const got = new Promise<Record<string, unknown>>((resolve) => w!.tp.once('downlink', resolve));
    const dl = await runTpx(
      [
        'downlink',
        'push',
        '--via',
        'thingworx',
        '--dev-eui',
        DEV,
        '--fport',
        '9',
        '--payload',
        'a1b2',
        '--wait',
        '10s',
        '--json',
      ],
      { env: w.env },
    );
    expect(dl.stderr).toBe('');
    expect(dl.code).toBe(0);
    const d = await got;
    expect(d).toMatchObject({ devEui: DEV, fPort: 9, payloadHex: 'A1B2', asId: w.tp.asId });
    expect(JSON.parse(dl.stdout).downlinkStatus).toMatchObject({ state: 'queued', correlationId: d.correlationId });

    // and straight to the tunnel
    const direct = await runTpx(
      ['downlink', 'push', '--via', 'thingpark', '--dev-eui', DEV, '--fport', '2', '--payload', '00', '--json'],
      { env: w.env },
    );
    expect(direct.code).toBe(0);
    expect(JSON.parse(direct.stdout)).toMatchObject({ status: 'queued' });
    expect(w.tp.downlinks()).toHaveLength(2);

    const stop = await b.proc.kill('SIGTERM');
    expect(stop.code).toBe(0);
    expect(b.events().some((e) => e.event === 'bridge.stopped' && e.drained === true)).toBe(true);
    expect(w.twx.boundThings()).not.toContain(DEV);
  });

  it('each bad input gets its 4xx with a JSON reason, and the bridge goes on', async () => {
    w = await world();
    const b = await startBridgeProcess(w);
    const { asId, asKey } = w.tp;
    const doc = uplinkDoc(DEV, 5);
    const q = (d: unknown, time?: Date) => signUplink(d, { asId, asKey, time }).queryString;
    const post = async (query: string, body: string, type = 'application/json') => {
      const r = await fetch(`${b.url}?${query}`, { method: 'POST', headers: { 'content-type': type }, body });
      return { status: r.status, body: (await r.json()) as { error: string; message: string } };
    };
    const bad: [string, Promise<{ status: number; body: { error: string } }>, number][] = [
      ['bad_json', post(q(doc), '{"DevEUI_uplink":'), 400],
      ['bad_token', post(q(uplinkDoc(DEV, 6)), JSON.stringify(doc)), 401],
      ['stale_time', post(q(doc, new Date(Date.now() - 86_400_000)), JSON.stringify(doc)), 401],
      ['bad_hex', post(q(uplinkDoc(DEV, 5, 'xyz1')), JSON.stringify(uplinkDoc(DEV, 5, 'xyz1'))), 400],
      ['too_large', post(q(doc), JSON.stringify({ pad: 'x'.repeat(100_000) })), 413],
      ['content_type', post(q(doc), JSON.stringify(doc), 'application/xml'), 415],
    ];
    for (const [reason, p, status] of bad) {
      const r = await p;
      expect({ reason, status: r.status, error: r.body.error }).toEqual({ reason, status, error: reason });
    }
    const good = await post(q(doc), JSON.stringify(doc));
    expect(good.status).toBe(202);
    await b.event('push.acked', (e) => e.thing === DEV);
    const metrics = await (await fetch(`${b.base}/metrics`)).text();
    expect(metrics).toMatch(/tpx_bridge_rejected_total\{reason="bad_token"\} 1/);
    expect(metrics).toMatch(/tpx_bridge_pushed_total\{kind="uplink"\} 1/);
    expect((await fetch(`${b.base}/readyz`)).status).toBe(200);
    expect((await b.proc.kill('SIGTERM')).code).toBe(0);
  });
});
