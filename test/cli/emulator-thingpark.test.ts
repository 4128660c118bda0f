/** `tpx emulator thingpark` as a subprocess: ready line, credentials, downlink report, state file, clean stop. */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sendDownlink } from '../../src/thingpark/downlink.js';
import { tempConfigHome } from '../helpers/cli.js';
import { runInProcess as runTpx, InProcess as TpxProcess } from '../helpers/run.js';

interface Ready {
  url: string;
  clientId: string;
  clientSecret: string;
  asId: string;
  asKey: string;
}

const procs: TpxProcess[] = [];
const homes: { cleanup: () => void }[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  for (const h of homes.splice(0)) h.cleanup();
});

function home() {
  const h = tempConfigHome();
  homes.push(h);
  return h;
}

function start(args: string[], env: NodeJS.ProcessEnv): TpxProcess {
  const p = new TpxProcess(['emulator', 'thingpark', ...args], { env });
  procs.push(p);
  return p;
}

describe('tpx emulator thingpark', () => {
  it('--json prints exactly one JSON line with the URL and credentials, serves tpx, records downlinks, stops on SIGTERM', async () => {
    const h = home();
    const p = start(['--json', '--opening-delay', '0'], h.env);
    const ready = await p.firstJsonLine<Ready>();
    expect(Object.keys(ready)).toEqual(['url', 'clientId', 'clientSecret', 'asId', 'asKey']);
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.asKey).toMatch(/^[0-9a-f]{32}$/);

    const env = {
      ...h.env,
      TPX_THINGPARK_URL: ready.url,
      TPX_THINGPARK_CLIENT_ID: ready.clientId,
      TPX_THINGPARK_CLIENT_SECRET: ready.clientSecret,
    };
    const list = await runTpx(['connection', 'list', '--json'], { env });
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual({ connections: [] });

    const sent = await sendDownlink({
      url: `${ready.url}/thingpark/lrc/rest/v2/downlink`,
      asId: ready.asId,
      asKey: ready.asKey,
      devEui: '70B3D5E75E00A1B2',
      fPort: 3,
      payloadHex: 'cafe',
    });
    expect(sent.status).toBe('queued');
    const report = (await (await fetch(`${ready.url}/_emulator/downlinks`)).json()) as {
      devEui: string;
      payloadHex: string;
    }[];
    expect(report).toMatchObject([{ devEui: '70B3D5E75E00A1B2', fPort: 3, payloadHex: 'CAFE', version: 2 }]);

    const r = await p.kill('SIGTERM');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('prints the URL and exports for a shell, and keeps state across restarts with --state', async () => {
    const h = home();
    const state = join(h.dir, 'tp-state.json');
    const p = start(['--state', state, '--opening-delay', '0'], h.env);
    const m = await p.waitFor(/export TPX_AS_KEY=([0-9a-f]{32})/);
    expect(p.stdout).toMatch(/ThingPark emulator ready at http:\/\/127\.0\.0\.1:\d+ \(plain HTTP/);
    const url = /export TPX_THINGPARK_URL=(\S+)/.exec(p.stdout)![1]!;
    const id = /export TPX_THINGPARK_CLIENT_ID=(\S+)/.exec(p.stdout)![1]!;
    const secret = /export TPX_THINGPARK_CLIENT_SECRET=(\S+)/.exec(p.stdout)![1]!;
    const env = {
      ...h.env,
      TPX_THINGPARK_URL: url,
      TPX_THINGPARK_CLIENT_ID: id,
      TPX_THINGPARK_CLIENT_SECRET: secret,
      TPX_THINGWORX_APP_KEY: 'kept-app-key-123',
    };
    const created = await runTpx(['connection', 'create', '--name', 'kept', '--host-name', 'twx:443', '--json'], {
      env,
    });
    expect(created.code, created.stderr).toBe(0);
    expect((await p.kill('SIGINT')).code).toBe(0);
    expect(p.stderr).toContain('ThingPark emulator stopped.');

    const again = start(['--state', state, '--json'], h.env);
    const ready = await again.firstJsonLine<Ready>();
    expect(ready.asKey).toBe(m[1]);
    expect(ready.clientSecret).toBe(secret);
    const list = await runTpx(['connection', 'list', '--json'], { env: { ...env, TPX_THINGPARK_URL: ready.url } });
    expect(JSON.parse(list.stdout).connections.map((c: { name: string }) => c.name)).toEqual(['kept']);
  });

  it('refuses a bad --port as a usage error', async () => {
    const r = await runTpx(['emulator', 'thingpark', '--port', '99999'], { env: home().env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--port must be a whole number from 0 to 65535');
  });
});
