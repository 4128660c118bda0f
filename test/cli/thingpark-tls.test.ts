/**
 * ThingPark over HTTPS with a CA of the user's (an on-premises ThingPark Enterprise): `--thingpark-ca` /
 * `TPX_THINGPARK_CA` makes `tpx connection` and `tpx downlink push --via thingpark` trust it, with verification on;
 * without it the error says the certificate is not trusted and names the setting.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThingParkEmulator, type ThingParkEmulator } from '../../src/emulators/thingpark/index.js';
import { tempConfigHome } from '../helpers/cli.js';
import { runInProcess as runTpx } from '../helpers/run.js';

let emu: ThingParkEmulator;
let home: ReturnType<typeof tempConfigHome>;
beforeAll(async () => {
  emu = await startThingParkEmulator({ openingDelayMs: 0, tls: true });
  home = tempConfigHome();
});
afterAll(async () => {
  await emu.close();
  home.cleanup();
});

describe('ThingPark with a private CA', () => {
  it('serves HTTPS, and connection list trusts it through TPX_THINGPARK_CA (or --thingpark-ca)', async () => {
    expect(emu.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const env = {
      ...home.env,
      TPX_THINGPARK_URL: emu.url,
      TPX_THINGPARK_CLIENT_ID: emu.clientId,
      TPX_THINGPARK_CLIENT_SECRET: emu.clientSecret,
    };
    const untrusted = await runTpx(['connection', 'list'], { env });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(
      /The certificate of the ThingPark token endpoint at 127\.0\.0\.1:\d+ is not trusted/,
    );
    expect(untrusted.stderr).toMatch(/with --thingpark-ca \/ TPX_THINGPARK_CA; verification stays on/);
    const viaEnv = await runTpx(['connection', 'list', '--json'], { env: { ...env, TPX_THINGPARK_CA: emu.caFile } });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(JSON.parse(viaEnv.stdout)).toEqual({ connections: [] });
    const viaFlag = await runTpx(['connection', 'list', '--thingpark-ca', emu.caFile, '--json'], { env });
    expect(viaFlag.code, viaFlag.stderr).toBe(0);
    const notPemFile = join(home.dir, 'not-a-certificate.txt');
    writeFileSync(notPemFile, 'hello\n');
    const notPem = await runTpx(['connection', 'list', '--thingpark-ca', notPemFile], { env });
    expect(notPem.code).toBe(2);
    expect(notPem.stderr).toMatch(/holds no PEM certificate[\s\S]*--thingpark-ca or TPX_THINGPARK_CA/);
  });

  it('downlink push --via thingpark reaches the LRC over HTTPS with the CA, and is refused without it', async () => {
    const args = ['downlink', 'push', '--via', 'thingpark', '--dev-eui', '70B3D57ED0000001', '--fport', '2'];
    const env = {
      ...home.env,
      TPX_THINGPARK_DOWNLINK_URL: emu.downlinkUrl,
      TPX_AS_ID: emu.asId,
      TPX_AS_KEY: emu.asKey,
    };
    const untrusted = await runTpx([...args, '--payload', '01'], { env });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/TPX_THINGPARK_CA/);
    expect(emu.downlinks()).toHaveLength(0);
    const ok = await runTpx([...args, '--payload', '02', '--json'], { env: { ...env, TPX_THINGPARK_CA: emu.caFile } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ via: 'thingpark', status: 'queued' });
    expect(emu.downlinks().map((d) => d.payloadHex)).toEqual(['02']);
  });
});
