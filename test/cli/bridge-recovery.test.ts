/** End to end through bin/tpx.js: nothing acknowledged is lost across SIGKILL, nor through a ThingWorx outage. */
import { afterEach, describe, expect, it } from 'vitest';
import { signUplink } from '../../src/thingpark/tunnel.js';
import { uplinkDoc } from '../bridge/helpers.js';
import { runInProcess as runTpx } from '../helpers/run.js';
import { startBridgeProcess, type World, world } from './bridge-helpers.js';

const DEV = '70B3D57ED0000002';

function fcntsOf(w: World, thing: string): number[] {
  return w.twx.history(thing, 'uplinkData').map((h) => {
    const v = typeof h.value === 'string' ? JSON.parse(h.value) : h.value;
    return (v as { DevEUI_uplink: { FCntUp: number } }).DevEUI_uplink.FCntUp;
  });
}

describe('tpx bridge recovery', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('delivers every acknowledged uplink after a SIGKILL and a restart', async () => {
    w = await world();
    // ThingWorx unreachable for the first bridge: everything it acknowledges stays in the spool.
    const first = await startBridgeProcess(w, [], { ...w.env, TPX_THINGWORX_URL: 'https://127.0.0.1:9' });
    const sent = await runTpx(
      ['uplink', 'send', '--url', first.url, '--dev-eui', DEV, '--fcnt', '100', '--count', '25', '--json'],
      {
        env: w.env,
      },
    );
    expect(JSON.parse(sent.stdout)).toMatchObject({ sent: 25, accepted: 25 });
    const killed = await first.proc.kill('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    expect(fcntsOf(w, DEV)).toEqual([]);

    const second = await startBridgeProcess(w);
    await second.event('push.acked', (e) => e.seq === 25);
    expect(fcntsOf(w, DEV)).toEqual(Array.from({ length: 25 }, (_, i) => 100 + i));
    const list = await runTpx(['bridge', 'dead-letters', '--spool-dir', w.spoolDir, '--json'], { env: w.env });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({ total: 0, deadLetters: [] });
    expect((await second.proc.kill('SIGTERM')).code).toBe(0);
  });

  it('loses nothing and keeps per-device order through a ThingWorx outage of several seconds', async () => {
    const devs = ['70B3D57ED00000A1', '70B3D57ED00000A2', '70B3D57ED00000A3'];
    w = await world(devs);
    const b = await startBridgeProcess(w, ['--max-time-skew', '0']);
    await b.event('bridge.ready');
    const { asId, asKey } = w.tp;
    let fcnt = 0;
    const post = async () => {
      fcnt += 1;
      for (const d of devs) {
        const doc = uplinkDoc(d, fcnt, fcnt.toString(16).padStart(4, '0'));
        const q = signUplink(doc, { asId, asKey }).queryString;
        const r = await fetch(`${b.url}?${q}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(doc),
        });
        expect(r.status).toBe(202);
        await r.text();
      }
    };
    for (let i = 0; i < 5; i++) await post();
    await b.event('push.acked', (e) => e.seq === 15);
    // outage: sockets dropped, every AlwaysOn request and REST call answered 503, for 3 seconds
    w.twx.faults.failResponses(503);
    w.twx.faults.dropAllSockets();
    const outageEnds = Date.now() + 3000;
    while (Date.now() < outageEnds) {
      await post();
      await new Promise((r) => setTimeout(r, 100));
    }
    w.twx.faults.failResponses(null);
    // Each device's queue is delivered on its own (retries with jitter): wait for the last report of every device.
    const total = fcnt * devs.length;
    for (let k = 0; k < devs.length; k++) await b.event('push.acked', (e) => e.seq === total - k);
    // At least once: a push whose acknowledgement was lost (the 503s) is pushed again, so a value may repeat
    // right after itself; nothing is missing and nothing is out of order.
    const collapse = (xs: number[]) => xs.filter((x, i) => i === 0 || xs[i - 1] !== x);
    for (const d of devs) expect(collapse(fcntsOf(w, d))).toEqual(Array.from({ length: fcnt }, (_, i) => i + 1));
    expect(b.events().some((e) => e.event === 'pipe.down')).toBe(true);
    expect((await b.proc.kill('SIGTERM')).code).toBe(0);
  });
});
