import { once } from 'node:events';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../src/cli/app.js';
import { BufferWriter, colorLevel } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { runTpx, tempConfigHome } from '../helpers/cli.js';
import { runInProcess } from '../helpers/run.js';

function inProcess(env: NodeJS.ProcessEnv, stdinIsTTY = false) {
  const stdout = new BufferWriter();
  const stderr = new BufferWriter();
  const app = new App({ stdout, stderr, env, stdinIsTTY });
  return { app, stdout, stderr, run: (argv: string[]) => runCli(argv, app) };
}

describe('CLI frame', () => {
  const homes: { cleanup: () => void }[] = [];
  afterEach(() => {
    for (const h of homes.splice(0)) h.cleanup();
  });

  it('prints help and exits 0', async () => {
    const r = await runTpx(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: tpx');
    expect(r.stdout).toContain('profile');
  });

  it('an unknown option is a usage error with exit code 2 and a fix line', async () => {
    const r = await runInProcess(['profile', 'list', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--bogus'/);
    expect(r.stderr).toMatch(/fix:/);
  });

  it('an unknown command exits 2', async () => {
    const r = await runTpx(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });

  it('with --json, a parse error is also one JSON document on stdout', async () => {
    for (const args of [
      ['--json', 'frobnicate'],
      ['profile', 'list', '--json', '--bogus'],
    ]) {
      const r = await runInProcess(args);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout)).toEqual({
        error: {
          code: 'TPX_USAGE',
          message: expect.stringMatching(/^unknown (command|option)/),
          fix: expect.any(String),
        },
      });
    }
    // After "--", --json is an argument, not the flag.
    const r = await runInProcess(['explain', '--bogus', '--', '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });

  it('profile set/show/use/unset write a 0600 file and mask secrets', async () => {
    const h = tempConfigHome();
    homes.push(h);
    const env = h.env;
    const secret = 'app-key-0123456789abcdef';
    let r = await runInProcess(['profile', 'set', 'thingworxUrl', 'https://twx.example:8443', '--profile', 'lab'], {
      env,
    });
    expect(r.code).toBe(0);
    r = await runInProcess(['profile', 'set', 'thingworxAppKey', secret, '--profile', 'lab'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(secret);
    const path = join(h.dir, 'tpx', 'config.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);

    r = await runInProcess(['profile', 'show', '--profile', 'lab', '--json'], { env });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.profile).toBe('lab');
    expect(doc.settings.thingworxUrl).toEqual({ value: 'https://twx.example:8443', source: 'profile' });
    expect(doc.settings.thingworxAppKey.value).toBe('*****cdef');
    expect(r.stdout).not.toContain(secret);

    // env overrides the profile file
    r = await runInProcess(['profile', 'show', '--profile', 'lab', '--json'], {
      env: { ...env, TPX_THINGWORX_URL: 'https://other:443' },
    });
    expect(JSON.parse(r.stdout).settings.thingworxUrl).toEqual({ value: 'https://other:443', source: 'env' });

    r = await runInProcess(['profile', 'use', 'lab'], { env });
    expect(r.code).toBe(0);
    r = await runInProcess(['profile', 'list', '--json'], { env });
    expect(JSON.parse(r.stdout)).toMatchObject({ active: 'lab', profiles: ['lab'] });

    // TPX_PROFILE beats the file's current profile
    r = await runInProcess(['profile', 'set', 'template', 'x', '--profile', 'other'], { env });
    r = await runInProcess(['profile', 'list', '--json'], { env: { ...env, TPX_PROFILE: 'other' } });
    expect(JSON.parse(r.stdout).active).toBe('other');

    r = await runInProcess(['profile', 'unset', 'thingworxAppKey'], { env });
    expect(r.code).toBe(0);
    r = await runInProcess(['profile', 'show', '--json'], { env });
    expect(JSON.parse(r.stdout).settings.thingworxAppKey).toBeUndefined();
  });

  it('an unknown profile is a usage error naming the existing ones (profile use, --profile, TPX_PROFILE)', async () => {
    const h = tempConfigHome();
    homes.push(h);
    const env = h.env;
    let r = await runInProcess(['profile', 'use', 'doesnotexist'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('No profile named "doesnotexist". There are no profiles yet.');
    // no "Use one of them" when there is none
    expect(r.stderr).toContain('fix: Create it with: tpx --profile doesnotexist profile set <key> <value>');
    await runInProcess(['--profile', 'lab', 'profile', 'set', 'template', 't'], { env });
    await runInProcess(['--profile', 'b', 'profile', 'set', 'template', 't'], { env });
    r = await runInProcess(['profile', 'use', 'doesnotexist'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('No profile named "doesnotexist". Existing profiles: b, lab.');
    expect(r.stderr).toContain('fix: Use one of them, or create it with: tpx --profile doesnotexist profile set');
    r = await runInProcess(['profile', 'list', '--json'], { env });
    expect(JSON.parse(r.stdout).active).toBe('default');
    // not "missing ThingWorx URL": the profile is what is wrong
    r = await runInProcess(['--profile', 'doesnotexist', 'thing', 'list'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('No profile named "doesnotexist". Existing profiles: b, lab.');
    r = await runInProcess(['thing', 'list', '--json'], { env: { ...env, TPX_PROFILE: 'nope' } });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe('TPX_USAGE');
    r = await runInProcess(['profile', 'show', 'nope'], { env });
    expect(r.code).toBe(2);
    // a command that creates the profile it is given
    r = await runInProcess(['--profile', 'new', 'profile', 'set', 'template', 't'], { env });
    expect(r.code).toBe(0);
  });

  it('profile set without a value and without a TTY is a usage error', async () => {
    const h = tempConfigHome();
    homes.push(h);
    const t = inProcess(h.env);
    const code = await t.run(['profile', 'set', 'asKey']);
    expect(code).toBe(2);
    expect(t.stderr.text).toContain('tpx profile set asKey <value>');
  });

  it('profile set prompts (hidden) for a secret on a TTY and never prints it', async () => {
    const h = tempConfigHome();
    homes.push(h);
    const stdout = new BufferWriter();
    const stderr = new BufferWriter();
    const asked: string[] = [];
    const app = new App({
      stdout,
      stderr,
      env: h.env,
      stdinIsTTY: true,
      prompter: {
        input: async () => 'x',
        password: async (m) => {
          asked.push(m);
          return 'secret-as-key-value-1234';
        },
        confirm: async () => true,
        select: async () => 'x' as never,
      },
    });
    const code = await runCli(['profile', 'set', 'asKey'], app);
    expect(code).toBe(0);
    expect(asked).toEqual(['asKey:']);
    expect(stdout.text + stderr.text).not.toContain('secret-as-key-value-1234');
  });

  it('an unknown setting names the known ones', async () => {
    const h = tempConfigHome();
    homes.push(h);
    const t = inProcess(h.env);
    expect(await t.run(['profile', 'set', 'nope', 'x'])).toBe(2);
    expect(t.stderr.text).toContain('thingworxUrl');
  });

  it('a corrupt config file is a clear failure, not a crash', async () => {
    const h = tempConfigHome();
    homes.push(h);
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(join(h.dir, 'tpx'), { recursive: true });
    writeFileSync(join(h.dir, 'tpx', 'config.json'), '{not json');
    const r = await runInProcess(['profile', 'show'], { env: h.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/config\.json is not valid/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it('--json errors are one JSON document on stdout', async () => {
    const h = tempConfigHome();
    homes.push(h);
    const r = await runInProcess(['profile', 'set', 'nope', 'x', '--json'], { env: h.env });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe('TPX_USAGE');
  });
});

describe('colour', () => {
  const tty = { isTTY: true, write: () => true };
  it('NO_COLOR, --no-color and a non-TTY turn colour off', () => {
    expect(colorLevel({ NO_COLOR: '1' }, tty, undefined)).toBe(0);
    expect(colorLevel({}, tty, false)).toBe(0);
    expect(colorLevel({}, { write: () => true }, undefined)).toBe(0);
    expect(colorLevel({}, tty, undefined)).toBe(1);
    expect(colorLevel({ FORCE_COLOR: '3' }, { write: () => true }, undefined)).toBe(3);
  });
});

describe('closed pipe', () => {
  it('a reader that closes stdout early does not crash tpx', async () => {
    const { spawn } = await import('node:child_process');
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { TPX_BIN, cleanEnv } = await import('../helpers/cli.js');
    // A 400 KB hex line (more than a pipe holds) into `head -c 10`, which closes the pipe early.
    const doc = {
      header: {
        version: 1,
        code: 'SUCCESS',
        codeValue: 64,
        requestId: 1,
        endpointId: 0,
        sessionId: 1,
        multipart: null,
      },
      body: {
        kind: 'response',
        reason: null,
        content: {
          dataShape: [{ name: 's', description: '', baseType: 'STRING', aspects: {} }],
          rows: [[{ baseType: 'STRING', value: 'x'.repeat(200_000) }]],
        },
      },
      trailing: null,
    };
    const file = join(mkdtempSync(join(tmpdir(), 'tpx-pipe-')), 'msg.json');
    writeFileSync(file, JSON.stringify(doc));
    const child = spawn(
      'sh',
      ['-c', `"${process.execPath}" "${TPX_BIN}" alwayson encode < "${file}" | head -c 10 >/dev/null`],
      {
        env: cleanEnv(),
      },
    );
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    await once(child, 'close');
    expect(err).not.toMatch(/EPIPE|Unhandled|Error/);
  });
});

describe('secrets given as flags', () => {
  it('are masked in anything the command prints', async () => {
    const { createTestContext } = await import('../../src/cli/context.js');
    const h = tempConfigHome();
    const { ctx, stdout } = createTestContext({ env: h.env });
    const key = 'flag-app-key-0123456789';
    const v = await ctx.resolve('thingworxAppKey', key);
    expect(v).toBe(key);
    ctx.io.out(`using ${v}`);
    expect(stdout.text).toBe('using *****6789\n');
    h.cleanup();
  });
});
