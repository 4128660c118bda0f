/** `tpx emulator thingworx` run as users run it (bin/tpx.js). */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, tempConfigHome } from '../helpers/cli.js';
import { runInProcess as runTpx, InProcess as TpxProcess } from '../helpers/run.js';

const homes: { cleanup: () => void }[] = [];
const procs: TpxProcess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  for (const h of homes.splice(0)) h.cleanup();
});

function home() {
  const h = tempConfigHome();
  homes.push(h);
  return h;
}

async function currentUser(info: { restUrl: string; appKey: string; caFile: string }): Promise<string> {
  const dispatcher = new Agent({ connect: { ca: readFileSync(info.caFile) } });
  const r = await request(`${info.restUrl}/Thingworx/Resources/CurrentSessionInfo/Services/GetCurrentUser`, {
    method: 'POST',
    headers: { appKey: info.appKey, accept: 'application/json', 'content-type': 'application/json' },
    body: '{}',
    dispatcher,
  });
  const doc = (await r.body.json()) as { rows: { result: string }[] };
  await dispatcher.close();
  return doc.rows[0]!.result;
}

describe('tpx emulator thingworx', () => {
  it('--json prints exactly one line with the URLs, key and CA, serves them, stops cleanly on SIGTERM', async () => {
    const h = home();
    const p = new TpxProcess(['emulator', 'thingworx', '--port', '0', '--json'], { env: h.env });
    procs.push(p);
    const info = await p.firstJsonLine<{ restUrl: string; wsUrl: string; appKey: string; caFile: string }>();
    expect(Object.keys(info).sort()).toEqual(['appKey', 'caFile', 'restUrl', 'wsUrl']);
    expect(info.restUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(info.wsUrl).toBe(`${info.restUrl.replace('https', 'wss')}/Thingworx/WS`);
    expect(existsSync(info.caFile)).toBe(true);
    expect(await currentUser(info)).toBe('Administrator');
    const r = await p.kill('SIGTERM');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('loads a scenario file and saves the state back on exit with --save-state', async () => {
    const h = home();
    const file = join(h.dir, 'state.json');
    copyFileSync(join(ROOT, 'examples', 'thingworx', 'fully-set-up.json'), file);
    const p = new TpxProcess(['emulator', 'thingworx', '--state', file, '--save-state', '--json'], { env: h.env });
    procs.push(p);
    const info = await p.firstJsonLine<{ restUrl: string; appKey: string; caFile: string }>();
    expect(info.appKey).toBe('tpx-connector-key-0123456789abcdef');
    expect(await currentUser(info)).toBe('tpx-connector');
    const dispatcher = new Agent({ connect: { ca: readFileSync(info.caFile) } });
    const created = await request(`${info.restUrl}/Thingworx/Resources/EntityServices/Services/CreateThing`, {
      method: 'POST',
      headers: { appKey: info.appKey, accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify({ name: '0018B20000000001', thingTemplateName: 'actilityThingTemplateSF' }),
      dispatcher,
    });
    expect(created.statusCode).toBe(200);
    await created.body.text();
    await dispatcher.close();
    const r = await p.kill('SIGINT');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/State saved to/);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.things.map((t: { name: string }) => t.name)).toContain('0018B20000000001');
  });

  it('prints the settings to export without --json', async () => {
    const h = home();
    const p = new TpxProcess(['emulator', 'thingworx', '--no-tls'], { env: h.env });
    procs.push(p);
    const m = await p.waitFor(/export TPX_THINGWORX_APP_KEY=(\S+)/);
    expect(p.stdout).toMatch(/export TPX_THINGWORX_URL=http:\/\/127\.0\.0\.1:\d+/);
    expect(m[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect((await p.kill('SIGTERM')).code).toBe(0);
  });

  it('serves a certificate given with --cert and --key', async () => {
    const h = home();
    const { generateCertificate } = await import('../../src/emulators/tls.js');
    const tls = await generateCertificate({ dir: h.dir });
    const keyFile = join(h.dir, 'key.pem');
    writeFileSync(keyFile, tls.key);
    const p = new TpxProcess(['emulator', 'thingworx', '--cert', tls.caFile, '--key', keyFile, '--json'], {
      env: h.env,
    });
    procs.push(p);
    const info = await p.firstJsonLine<{ restUrl: string; appKey: string; caFile: string }>();
    expect(info.caFile).toBe(tls.caFile);
    expect(await currentUser(info)).toBe('Administrator');
    expect((await p.kill('SIGTERM')).code).toBe(0);
    const r = await runTpx(['emulator', 'thingworx', '--cert', tls.caFile], { env: h.env });
    expect(r.code).toBe(2);
  });

  it('bad options are usage errors; a missing or broken state file is a clear error', async () => {
    const h = home();
    let r = await runTpx(['emulator', 'thingworx', '--port', 'x'], { env: h.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--port must be a whole number/);
    r = await runTpx(['emulator', 'thingworx', '--save-state'], { env: h.env });
    expect(r.code).toBe(2);
    r = await runTpx(['emulator', 'thingworx', '--tls', 'ssl3'], { env: h.env });
    expect(r.code).toBe(2);
    r = await runTpx(['emulator', 'thingworx', '--tls-version', '1.0'], { env: h.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--tls-version must be 1.2 or 1.1');
    r = await runTpx(['emulator', 'thingworx', '--bind-refusal', 'some'], { env: h.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--bind-refusal "some" is not whole-message or per-name.');
    r = await runTpx(['emulator', 'thingworx', '--lost-bind-pushes', 'drop'], { env: h.env });
    expect(r.code).toBe(2);
    r = await runTpx(['emulator', 'thingworx', '--state', join(h.dir, 'missing.json')], { env: h.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Cannot read the emulator state file/);
    r = await runTpx(['emulator', 'thingworx', '--state', join(ROOT, 'package.json')], { env: h.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Invalid emulator state/);
  });
});
