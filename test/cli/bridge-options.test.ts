import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runBridge } from '../../src/cli/commands/bridge.js';
import { createTestContext } from '../../src/cli/context.js';

const ENV = {
  TPX_THINGWORX_URL: 'https://127.0.0.1:9',
  TPX_THINGWORX_APP_KEY: 'app-key-0123456789',
  TPX_AS_KEY: '0123456789abcdef',
  XDG_CONFIG_HOME: '/nonexistent-tpx-test',
};

describe('tpx bridge options', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['log format', { logFormat: 'xml' }, /--log-format "xml"/],
    ['listen', { listen: 'localhost' }, /--listen "localhost" is not HOST:PORT/],
    ['path', { path: 'uplink' }, /--path "uplink" must start with/],
    ['skew', { maxTimeSkew: 'soon' }, /--max-time-skew must be a duration from 0 to 1d \(got "soon"\)/],
    ['max devices', { maxDevices: '0' }, /--max-devices "0"/],
    ['pipe count', { pipeCount: '300' }, /--pipe-count is 1\.\.255/],
    ['durability', { durability: 'maybe' }, /--durability/],
    ['max body', { maxBody: '10' }, /--max-body "10" is not a whole number >= 1024/],
    ['TLS pair', { tlsCert: '/tmp/cert.pem' }, /--tls-cert and --tls-key go together/],
  ];
  for (const [name, opts, re] of cases) {
    it(`refuses a bad ${name} with a usage error`, async () => {
      const t = createTestContext({ env: ENV });
      await expect(runBridge(t.ctx, opts)).rejects.toMatchObject({
        code: 'TPX_USAGE',
        message: expect.stringMatching(re),
      });
    });
  }

  it('a spool path that is a file is a usage error naming the setting, not "Cannot create … EEXIST"', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'tpx-spool-file-'));
    const file = join(dir, 'afile');
    writeFileSync(file, 'not a spool');
    try {
      const flag = createTestContext({ env: ENV });
      await expect(runBridge(flag.ctx, { spoolDir: file })).rejects.toMatchObject({
        code: 'TPX_USAGE',
        exitCode: 2,
        message: `The spool directory ${file} (--spool-dir) is a file, not a directory.`,
        fix: `Give --spool-dir a directory (tpx creates it when missing), or move ${file} away.`,
      });
      const env = createTestContext({ env: { ...ENV, TPX_SPOOL_DIR: join(file, 'spool') } });
      await expect(runBridge(env.ctx, {})).rejects.toMatchObject({
        code: 'TPX_USAGE',
        message: `The spool directory ${join(file, 'spool')} (TPX_SPOOL_DIR) lies under ${file}, a file, not a directory.`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names a bad value by where it came from: the TPX_* variable or the profile key, not a flag not given', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const home = mkdtempSync(join(tmpdir(), 'tpx-bad-setting-'));
    try {
      mkdirSync(join(home, 'tpx'));
      const profile = (lab: Record<string, string>) =>
        writeFileSync(join(home, 'tpx', 'config.json'), JSON.stringify({ current: 'lab', profiles: { lab } }));
      profile({ maxDevices: 'x' });
      const fromEnv = createTestContext({ env: { ...ENV, TPX_MAX_DEVICES: 'y' } });
      await expect(runBridge(fromEnv.ctx, {})).rejects.toMatchObject({
        message: 'TPX_MAX_DEVICES "y" is not a whole number >= 1.',
      });
      const fromProfile = createTestContext({ env: { ...ENV, XDG_CONFIG_HOME: home } });
      await expect(runBridge(fromProfile.ctx, {})).rejects.toMatchObject({
        code: 'TPX_USAGE',
        message: 'maxDevices in profile "lab" "x" is not a whole number >= 1.',
      });
      profile({ drainTimeout: 'soon' });
      const drain = createTestContext({ env: { ...ENV, XDG_CONFIG_HOME: home } });
      await expect(runBridge(drain.ctx, {})).rejects.toMatchObject({
        message: expect.stringMatching(/^drainTimeout in profile "lab" must be a duration/),
      });

      profile({ timeout: 'banana' });
      expect(() => createTestContext({ env: { ...ENV, XDG_CONFIG_HOME: home } }).ctx.timeoutMs()).toThrow(
        /^timeout in profile "lab" must be a duration from 100ms to 1h \(got "banana"\)/,
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('needs the AS key unless token verification is turned off, naming the flag and the variable', async () => {
    const t = createTestContext({ env: { ...ENV, TPX_AS_KEY: undefined } });
    await expect(runBridge(t.ctx, {})).rejects.toMatchObject({
      code: 'TPX_USAGE',
      fix: expect.stringMatching(/--as-key.*TPX_AS_KEY/),
    });
  });
});

describe('tpx bridge --json failing', () => {
  it('at its start (a port in use): one error document, no "stopping"/"stopped" of a bridge that never ran', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { runInProcess } = await import('../helpers/run.js');
    const busy = createServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const dir = mkdtempSync(join(tmpdir(), 'tpx-busy-'));
    try {
      const port = (busy.address() as AddressInfo).port;
      const r = await runInProcess(
        ['bridge', '--json', '--listen', `127.0.0.1:${port}`, '--spool-dir', join(dir, 'spool')],
        { env: { ...ENV, XDG_CONFIG_HOME: join(dir, 'config') } },
      );
      expect(r.code).toBe(1);
      // nothing was streamed before the failure (QA F3: no bridge.stopping/bridge.stopped lines of a bridge that
      // never listened), so it is the {"error"} document of any command
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'TPX_LISTEN' } });
    } finally {
      busy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('after its first lines (the key refused) ends with a failed event line (time, event, error), not a bare error document', async () => {
    const { mkdtempSync, rmSync, writeFileSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { runInProcess } = await import('../helpers/run.js');
    const { startThingWorxEmulator } = await import('../../src/emulators/thingworx/index.js');
    const twx = await startThingWorxEmulator();
    const dir = mkdtempSync(join(tmpdir(), 'tpx-refused-'));
    try {
      const ca = join(dir, 'ca.pem');
      writeFileSync(ca, readFileSync(twx.caFile));
      const r = await runInProcess(['bridge', '--json', '--listen', '127.0.0.1:0', '--spool-dir', join(dir, 'spool')], {
        env: {
          ...ENV,
          XDG_CONFIG_HOME: join(dir, 'config'),
          TPX_THINGWORX_URL: twx.restUrl,
          TPX_THINGWORX_APP_KEY: 'not-the-key',
          TPX_THINGWORX_CA: ca,
        },
      });
      expect(r.code).toBe(1);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.length).toBeGreaterThan(1);
      for (const l of lines) expect(Object.keys(l).slice(0, 2)).toEqual(['time', 'event']);
      expect(lines.at(-1)).toMatchObject({ event: 'failed', error: { code: expect.stringMatching(/^TPX_/) } });
    } finally {
      await twx.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tpx bridge dead-letters without a spool', () => {
  it('lists nothing and creates nothing; replay is a usage error naming --spool-dir', async () => {
    const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { runDeadLetters, runReplay } = await import('../../src/cli/commands/bridge.js');
    const dir = mkdtempSync(join(tmpdir(), 'tpx-nospool-'));
    try {
      const t = createTestContext({ env: ENV, json: true });
      await runDeadLetters(t.ctx, { spoolDir: join(dir, 'spool') });
      expect(JSON.parse(t.stdout.text)).toMatchObject({ total: 0, deadLetters: [] });
      expect(readdirSync(dir)).toEqual([]);
      await expect(runReplay(t.ctx, '1', { spoolDir: join(dir, 'spool') })).rejects.toMatchObject({
        code: 'TPX_USAGE',
        fix: expect.stringMatching(/--spool-dir/),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
