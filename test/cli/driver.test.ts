import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  runDriverAdd,
  runDriverAssign,
  runDriverDecode,
  runDriverEncode,
  runDriverList,
  runDriverRemove,
  runDriverShow,
  runDriverTest,
} from '../../src/cli/commands/driver.js';
import { createTestContext } from '../../src/cli/context.js';
import { CLIMATE, FIXTURES, packFixture } from '../drivers/helpers.js';
import { tempConfigHome } from '../helpers/cli.js';

const homes: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) h.cleanup();
});

function home() {
  const h = tempConfigHome();
  homes.push(h);
  return h.env;
}

const json = (t: { stdout: { text: string } }) => JSON.parse(t.stdout.text) as Record<string, unknown>;

describe('tpx driver', () => {
  it('add (from an npm tarball), assign, list, show, remove', async () => {
    const env = home();
    const tgz = packFixture('climate');
    const a = createTestContext({ env, json: true });
    await runDriverAdd(a.ctx, tgz, { name: 'climate', prefix: ['70B3D5'] });
    expect(json(a)).toMatchObject({
      name: 'climate',
      assign: [{ type: 'prefix', prefix: '70B3D5' }],
      functions: ['decodeUplink', 'encodeDownlink', 'decodeDownlink'],
      examples: 5,
      typedFields: [
        { name: 'temperature', baseType: 'NUMBER' },
        { name: 'humidity', baseType: 'NUMBER' },
        { name: 'battery_voltage', baseType: 'NUMBER' },
        { name: 'battery_low', baseType: 'BOOLEAN' },
      ],
    });
    const s = createTestContext({ env });
    await runDriverAssign(s.ctx, 'climate', { deveui: ['0018b20000000b20'], field: ['DriverCfg.id=tpx:climate:1'] });
    expect(s.stderr.text).toContain(
      'Driver climate decodes: prefix 70B3D5; DevEUI 0018B20000000B20; DriverCfg.id = tpx:climate:1.',
    );
    const l = createTestContext({ env });
    await runDriverList(l.ctx);
    expect(l.stdout.text).toMatch(/climate\t.*prefix 70B3D5; DevEUI 0018B20000000B20/);
    const sh = createTestContext({ env, json: true });
    await runDriverShow(sh.ctx, 'climate');
    expect(json(sh).properties).toEqual([
      { name: 'decodedPayload', baseType: 'JSON' },
      { name: 'decodeErrors', baseType: 'JSON' },
      { name: 'temperature', baseType: 'NUMBER', field: 'temperature' },
      { name: 'humidity', baseType: 'NUMBER', field: 'humidity' },
      { name: 'battery_voltage', baseType: 'NUMBER', field: 'battery.voltage' },
      { name: 'battery_low', baseType: 'BOOLEAN', field: 'battery.low' },
    ]);
    const dup = createTestContext({ env });
    await expect(runDriverAdd(dup.ctx, tgz, { name: 'climate' })).rejects.toMatchObject({ code: 'TPX_DRIVER_EXISTS' });
    const r = createTestContext({ env });
    await runDriverRemove(r.ctx, 'climate');
    const l2 = createTestContext({ env, json: true });
    await runDriverList(l2.ctx);
    expect(json(l2).drivers).toEqual([]);
  });

  it('a bad assignment is a usage error and changes nothing', async () => {
    const env = home();
    const c = createTestContext({ env });
    await expect(runDriverAdd(c.ctx, CLIMATE, { range: ['70B3D50000000010..70B3D50000000001'] })).rejects.toMatchObject(
      { code: 'TPX_USAGE', exitCode: 2 },
    );
    const l = createTestContext({ env, json: true });
    await runDriverList(l.ctx);
    expect(json(l).drivers).toEqual([]);
  });

  it('decode and encode with a driver given by path, --json', async () => {
    const env = home();
    const d = createTestContext({ env, json: true });
    await runDriverDecode(d.ctx, CLIMATE, {
      fport: '1',
      hex: '08 66 60 0E 10',
      driverTimeout: '10s',
    });
    expect(json(d)).toMatchObject({
      driver: 'tpx-test-climate',
      ok: true,
      data: { temperature: 21.5, humidity: 48, battery: { voltage: 3.6, low: false } },
      errors: [],
    });
    const e = createTestContext({ env, json: true });
    await runDriverEncode(e.ctx, CLIMATE, { data: '{"led": true}', driverTimeout: '10s' });
    expect(json(e)).toMatchObject({ ok: true, fPort: 10, hex: '0201', bytes: [2, 1] });
    const bad = createTestContext({ env, json: true });
    expect(await runDriverEncode(bad.ctx, CLIMATE, { data: '{"interval": 0}', driverTimeout: '10s' })).toBe(3);
    expect(json(bad)).toMatchObject({ ok: false, errors: ['interval must be 1..1440 minutes'] });
    const badText = createTestContext({ env });
    await expect(
      runDriverEncode(badText.ctx, CLIMATE, { data: '{"interval": 0}', driverTimeout: '10s' }),
    ).rejects.toMatchObject({ code: 'TPX_CHECK_FAILED', message: /interval must be 1..1440 minutes/ });
    const loop = createTestContext({ env });
    await expect(
      runDriverDecode(loop.ctx, join(FIXTURES, 'bad', 'loops.js'), { fport: '1', hex: '01', driverTimeout: '20ms' }),
    ).rejects.toMatchObject({ code: 'TPX_CHECK_FAILED', message: /took longer than 20ms/ });
  });

  it('test runs examples.json: all pass', async () => {
    const env = home();
    const t = createTestContext({ env });
    await runDriverTest(t.ctx, CLIMATE, { driverTimeout: '10s' });
    expect(t.stdout.text).toContain('pass  uplink          21.5 °C, 48 %, 3.6 V');
    expect(t.stdout.text).toContain('pass  downlink-encode interval 15 minutes');
    expect(t.stdout.text).toContain('5 passed, 0 failed (5 examples).');
  });

  it('test runs the examples of a TTN codec YAML (given as the file, or its folder)', async () => {
    const env = home();
    for (const source of [join(FIXTURES, 'ttn', 'codec.yaml'), join(FIXTURES, 'ttn')]) {
      const t = createTestContext({ env, json: true });
      expect(await runDriverTest(t.ctx, source, { driverTimeout: '10s' })).toBe(0);
      expect(json(t)).toMatchObject({
        driver: 'codec',
        passed: 3,
        failed: 0,
        examples: [
          { type: 'uplink', description: 'valve open', pass: true },
          { type: 'uplink', description: 'valve closed', pass: true },
          { type: 'downlink-encode', description: 'open it', pass: true },
        ],
      });
    }
  });

  it('test reports the failing example and exits 3', async () => {
    const env = home();
    const text = createTestContext({ env });
    await expect(
      runDriverTest(text.ctx, join(FIXTURES, 'failing-examples'), { driverTimeout: '10s' }),
    ).rejects.toMatchObject({
      code: 'TPX_CHECK_FAILED',
      exitCode: 3,
    });
    expect(text.stdout.text).toContain('FAIL  uplink          level 9 (wrong on purpose)');
    expect(text.stdout.text).toContain('      data: expected {"level":10}, got {"level":9}');
    const t = createTestContext({ env, json: true });
    expect(await runDriverTest(t.ctx, join(FIXTURES, 'failing-examples'), { driverTimeout: '10s' })).toBe(3);
    expect(json(t)).toMatchObject({
      passed: 1,
      failed: 1,
      examples: [
        { description: 'level 7', pass: true },
        {
          description: 'level 9 (wrong on purpose)',
          pass: false,
          problems: ['data: expected {"level":10}, got {"level":9}'],
        },
      ],
    });
  });
});
