/**
 * `tpx thing list|show|watch` in-process (the same runCli as bin/tpx.js) against the ThingWorx emulator.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { ThingWorxRest } from '../../src/thingworx/rest.js';
import { DEFAULT_TEMPLATE_NAME, TEMPLATE_PROPERTIES } from '../../src/thingworx/template.js';
import { tempConfigHome } from '../helpers/cli.js';
import { InProcess, runInProcess } from '../helpers/run.js';

const inProcess = (args: string[], env: NodeJS.ProcessEnv, columns?: number) =>
  runInProcess(args, { env, ...(columns ? { columns } : {}) });

const vector = JSON.parse(
  readFileSync(new URL('../fixtures/thingpark/uplink-untyped.json', import.meta.url), 'utf8'),
) as { DevEUI_uplink: Record<string, unknown> };

function uplink(devEui: string, fCntUp: number, payloadHex: string) {
  return {
    DevEUI_uplink: { ...vector.DevEUI_uplink, DevEUI: devEui, FCntUp: String(fCntUp), payload_hex: payloadHex },
  };
}

const DEV = '0018B20000000FFF';
const names = Array.from({ length: 7 }, (_, i) => `0018B2000000000${i}`);

// Distinct store times: the platform's history groups values by timestamp.
let lastTime = 0;
function nextTime(): number {
  lastTime = Math.max(Date.now(), lastTime + 1);
  return lastTime;
}

let emu: ThingWorxEmulator;
let rest: ThingWorxRest;
const home = tempConfigHome();
let env: NodeJS.ProcessEnv;

async function push(thing: string, values: Record<string, unknown>) {
  await rest.service(`Things/${thing}`, 'UpdatePropertyValues', {
    values: {
      dataShape: { fieldDefinitions: { name: { name: 'name', baseType: 'STRING' } } },
      rows: Object.entries(values).map(([name, value]) => ({ name, value, quality: 'GOOD', time: nextTime() })),
    },
  });
}

beforeAll(async () => {
  emu = await startThingWorxEmulator({
    port: 0,
    state: {
      templates: [
        {
          name: DEFAULT_TEMPLATE_NAME,
          base: 'RemoteThing',
          properties: TEMPLATE_PROPERTIES.map((p) => ({
            name: p.name,
            baseType: p.baseType,
            isLogged: p.logged,
            isRemote: p.remote,
            isReadOnly: p.readOnly,
          })),
        },
      ],
      things: [
        ...[DEV, ...names].map((name) => ({ name, template: DEFAULT_TEMPLATE_NAME })),
        { name: 'OtherThing', template: 'RemoteThing' },
      ],
    },
  });
  rest = new ThingWorxRest({ url: emu.restUrl, appKey: emu.appKey, ca: readFileSync(emu.caFile) });
  env = {
    ...home.env,
    TPX_THINGWORX_URL: emu.restUrl,
    TPX_THINGWORX_APP_KEY: emu.appKey,
    TPX_THINGWORX_CA: emu.caFile,
  };
  await push(DEV, {
    uplinkData: uplink(DEV, 41, 'cafe01'),
    lastUplinkTime: Date.parse('2026-11-25T10:00:00Z'),
    downlink: { DevEUI_downlink: { DevEUI: DEV, FPort: 1, payload_hex: '0102' } },
    downlinkStatus: { DeliveryStatus: 1, CorrelationID: '4434704901C7450B' },
  });
}, 30_000);

afterAll(async () => {
  await rest?.close();
  await emu?.close();
  home.cleanup();
});

describe('tpx thing list', () => {
  it('pages through the Things of the template with their connection state and last uplink', async () => {
    let r = await inProcess(['thing', 'list', '--limit', '5', '--json'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const page = JSON.parse(r.stdout);
    expect(page).toMatchObject({ template: DEFAULT_TEMPLATE_NAME, offset: 0, maxItems: 5, total: 8, nextOffset: 5 });
    expect(page.things.map((t: { name: string }) => t.name)).toEqual([...names.slice(0, 5)]);
    r = await inProcess(['thing', 'list', '--limit', '5', '--offset', '5', '--json'], env);
    const second = JSON.parse(r.stdout);
    expect(second.things.map((t: { name: string }) => t.name)).toEqual([...names.slice(5), DEV]);
    expect(second.nextOffset).toBeUndefined();
    expect(second.things.at(-1)).toEqual({
      name: DEV,
      isConnected: false,
      lastUplinkTime: '2026-11-25T10:00:00.000Z',
      // the emulator's default key may list the AlwaysOn sessions: nobody binds it
      holder: { bound: false, liveConnectorsOfKey: 0, sessionsListed: true },
    });

    r = await inProcess(['thing', 'list', '--limit', '3', '--all'], env);
    expect(r.code).toBe(0);
    for (const n of [DEV, ...names]) expect(r.stdout).toContain(n);
    expect(r.stdout).not.toContain('OtherThing');
    // piped: tab-separated rows, no header
    expect(r.stdout).toContain('0018B20000000FFF\tno\t\t2026-11-25 10:00:00Z\tnone\n');
    expect(r.stdout).not.toContain('DevEUI');
    // on an 80-column terminal: aligned under a header
    r = await inProcess(['thing', 'list', '--all'], env, 80);
    expect(r.stdout).toMatch(/^DevEUI {2,}connected {2,}last connection {2,}last uplink {2,}holder$/m);
    expect(r.stdout).toMatch(/^0018B20000000FFF {2,}no {2,}2026-11-25 10:00:00Z {2,}none$/m);
    for (const l of r.stdout.split('\n')) expect(l.length, l).toBeLessThanOrEqual(80);
  });

  it('rejects a bad --limit with a usage error', async () => {
    const r = await inProcess(['thing', 'list', '--limit', '0'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--limit must be a whole number from 1 to 10000 \(got "0"\)/);
  });
});

describe('tpx thing show', () => {
  it('shows the latest uplink decoded, the last downlink and its status, and every property', async () => {
    const r = await inProcess(['thing', 'show', '00-18-b2-00-00-00-0f-ff'], env, 80);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Thing ${DEV} (template ${DEFAULT_TEMPLATE_NAME})`);
    expect(r.stdout).toContain('Latest uplink (DevEUI_uplink)');
    expect(r.stdout).toMatch(/^payload_hex: +ca fe 01$/m);
    expect(r.stdout).toMatch(/^FCntUp: +41$/m);
    expect(r.stdout).toMatch(/^Lrrs\.Lrr\[1\]\.LrrRSSI: +-110\.000000$/m);
    expect(r.stdout).toContain('Last downlink (DevEUI_downlink)');
    expect(r.stdout).toMatch(/^status\.DeliveryStatus: +1$/m);
    expect(r.stdout).toMatch(/^status\.CorrelationID: +4434704901C7450B$/m);
    expect(r.stdout).not.toContain('No downlink yet');
    expect(r.stdout).toMatch(/^lastUplinkTime +2026-11-25 10:00:00Z +DATETIME$/m);
    expect(r.stdout).toMatch(/^isConnected +false +BOOLEAN$/m);
    // gh style: no box characters, no rule between rows, every line within the terminal
    expect(r.stdout).not.toMatch(/[─│┌┐└┘├┤┬┴┼]|^\+-|\| /m);
    for (const l of r.stdout.split('\n')) expect(l.length, l).toBeLessThanOrEqual(80);
    // piped: key<TAB>value, nothing cut, no colour
    const piped = await inProcess(['thing', 'show', DEV], env);
    expect(piped.stdout).toContain('payload_hex\tca fe 01\n');
    expect(piped.stdout).not.toMatch(/\x1b\[/);

    const j = await inProcess(['thing', 'show', DEV.toLowerCase(), '--json'], env);
    const d = JSON.parse(j.stdout);
    expect(d.uplink.summary).toMatchObject({
      devEui: DEV,
      fCntUp: 41,
      payloadHex: 'cafe01',
      rssi: -97,
      spreadingFactor: 9,
    });
    expect(d.downlink.body).toEqual({ DevEUI: DEV, FPort: 1, payload_hex: '0102' });
    expect(d.downlinkStatus).toEqual({ DeliveryStatus: 1, CorrelationID: '4434704901C7450B' });
  });

  it('a status without a downlink (the bridge empties it once sent) is the last downlink, not "No downlink yet"', async () => {
    const thing = names[6]!;
    await push(thing, { downlinkStatus: { DeliveryStatus: 0, CorrelationID: '0000000000000001' } });
    const r = await inProcess(['thing', 'show', thing], env, 80);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('No downlink yet');
    expect(r.stdout).toContain('Last downlink');
    expect(r.stdout).toMatch(/^status\.DeliveryStatus: +0$/m);
  });

  it('a bad DevEUI is a usage error and nothing is asked of ThingWorx; an unknown one says so', async () => {
    let r = await inProcess(['thing', 'show', '0018B2'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"0018B2" is not a DevEUI: it has 6 hex digits, not 16/);
    r = await inProcess(['thing', 'show', 'AAAAAAAAAAAAAAAA', '--json'], env);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe('TPX_THING_NOT_FOUND');
  });
});

describe('tpx thing watch', () => {
  it('prints each uplink pushed while it runs (NDJSON), and stops cleanly on Ctrl-C', async () => {
    const p = new InProcess(['thing', 'watch', DEV.toLowerCase(), '--interval', '100ms', '--json'], { env });
    try {
      await p.waitFor(/Watching 0018B20000000FFF/, { stream: 'stderr' });
      await push(DEV, { uplinkData: uplink(DEV, 42, '0a0b') });
      await push(DEV, { uplinkData: uplink(DEV, 43, '0c0d') });
      await p.waitFor(/"fCntUp":43/);
      await push(DEV, { uplinkData: uplink(DEV, 44, '0e0f') });
      await p.waitFor(/"fCntUp":44/);
      const r = await p.interrupt();
      expect(r.code).toBe(0);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      // The uplink stored before the watch started is not repeated; each new one comes once, in order.
      expect(lines.map((l) => l.summary.fCntUp)).toEqual([42, 43, 44]);
      expect(lines[0]).toMatchObject({
        event: 'thing.uplink',
        thing: DEV,
        kind: 'DevEUI_uplink',
        summary: { payloadHex: '0a0b' },
      });
      for (const l of lines) expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(r.stderr).toMatch(/Stopped; 3 uplinks seen/);
    } finally {
      await p.interrupt();
    }
  });

  it('prints a readable line per uplink without --json', async () => {
    const p = new InProcess(['thing', 'watch', DEV, '--interval', '100ms'], { env });
    try {
      await p.waitFor(/Watching .* every 100ms\); Ctrl-C to stop/, { stream: 'stderr' });
      await push(DEV, { uplinkData: uplink(DEV, 50, '00ff') });
      const m = await p.waitFor(/^.*FCntUp 50.*$/m);
      expect(m[0]).toMatch(/0018B20000000FFF {2}FCntUp 50 {2}FPort 5 {2}payload 00 ff {2}RSSI -97 {2}SNR 6\.25 {2}SF9/);
    } finally {
      await p.interrupt();
    }
  });
});
