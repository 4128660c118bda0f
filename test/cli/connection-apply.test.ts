/**
 * Scripted set-up a CI job can re-run (issue 13), in-process against the ThingPark emulator and small fake servers:
 * bounded waits, idempotent apply, duplicates refused, secrets never changed silently, prompts, messages.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { App } from '../../src/cli/app.js';
import { BufferWriter, type Prompter } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { startThingParkEmulator, type ThingParkEmulator } from '../../src/emulators/thingpark/index.js';
import { tempConfigHome } from '../helpers/cli.js';
import { InProcess } from '../helpers/run.js';
import { deleteConnections } from '../helpers/thingpark.js';

const APP_KEY = 'twx-app-key-apply-4e1d';
const AS_KEY = '00112233445566778899aabbccddeeff';
const TUNNEL_KEY = 'ffeeddccbbaa99887766554433221100';
let emu: ThingParkEmulator;
let home: ReturnType<typeof tempConfigHome>;

beforeAll(async () => {
  emu = await startThingParkEmulator({ openingDelayMs: 0, maxConnections: 20 });
  home = tempConfigHome();
});
afterAll(async () => {
  await emu.close();
  home.cleanup();
});
beforeEach(() => deleteConnections(emu));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  asked: string[];
}

/** Runs tpx in-process; `answers` (by message prefix) makes it a TTY. */
async function tpx(
  argv: string[],
  o: { env?: Record<string, string>; answers?: Record<string, string | boolean | Error>; url?: string } = {},
): Promise<Run> {
  const tty = o.answers !== undefined;
  const stdout = new BufferWriter(tty);
  const stderr = new BufferWriter(tty);
  const asked: string[] = [];
  const answer = (m: string) => {
    asked.push(m);
    const key = Object.keys(o.answers ?? {}).find((k) => m.startsWith(k));
    if (key === undefined) throw new Error(`unexpected prompt: ${m}`);
    const a = o.answers![key]!;
    if (a instanceof Error) throw a;
    return a;
  };
  const prompter: Prompter = {
    input: async (m) => String(answer(m)),
    password: async (m) => String(answer(m)),
    confirm: async (m) => Boolean(answer(m)),
    select: async () => {
      throw new Error('no select expected');
    },
  };
  const app = new App({
    stdout,
    stderr,
    stdinIsTTY: tty,
    prompter,
    env: {
      ...home.env,
      TPX_THINGPARK_URL: o.url ?? emu.url,
      TPX_THINGPARK_CLIENT_ID: emu.clientId,
      TPX_THINGPARK_CLIENT_SECRET: emu.clientSecret,
      ...o.env,
    },
  });
  const code = await runCli(argv, app);
  for (const secret of [APP_KEY, AS_KEY, emu.clientSecret]) expect(stdout.text + stderr.text).not.toContain(secret);
  return { code, stdout: stdout.text, stderr: stderr.text, asked };
}

const applyArgs = ['connection', 'apply', '--name', 'ci-plant', '--host-name', 'twx.ci:8443', '--pipe-count', '2'];

describe('tpx connection apply', () => {
  it('run twice gives created then unchanged, with one connection on ThingPark', async () => {
    const env = { TPX_THINGWORX_APP_KEY: APP_KEY };
    const plan = await tpx([...applyArgs, '--dry-run', '--json'], { env });
    expect(JSON.parse(plan.stdout)).toMatchObject({
      action: 'created',
      dryRun: true,
      connection: { name: 'ci-plant', configuration: { applicationKey: '*****', pipeCount: 2 } },
    });
    expect(emu.connections()).toHaveLength(0);
    const first = await tpx([...applyArgs, '--json'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ action: 'created', connection: { name: 'ci-plant' } });
    const second = await tpx([...applyArgs, '--json'], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ action: 'unchanged', diff: [] });
    expect(emu.connections()).toHaveLength(1);
    expect(emu.connections()[0]!.configuration).toMatchObject({ pipeCount: 2, applicationKey: APP_KEY });
  });

  it('updates only what differs, from a file with flags on top; --dry-run shows the plan and sends nothing', async () => {
    const file = join(home.dir, 'connection.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      file,
      JSON.stringify({ name: 'from-file', configuration: { hostName: 'twx.file:8443', pipeCount: 1 } }),
    );
    const env = { TPX_THINGWORX_APP_KEY: APP_KEY };
    const created = await tpx(['connection', 'apply', '-f', file], { env });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^Created connection \d+ "from-file" \(OPENED\)\.\n$/);
    const id = emu.connections()[0]!.id;
    const puts = () => emu.requests.filter((r) => r.method === 'PUT').length;
    const dry = await tpx(['connection', 'apply', '-f', file, '--pipe-count', '4', '--dry-run', '--json'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      action: 'updated',
      dryRun: true,
      id,
      diff: [
        { field: 'configuration.pipeCount', from: 1, to: 4 },
        { field: 'configuration.applicationKey', resent: true, source: 'TPX_THINGWORX_APP_KEY' },
      ],
    });
    expect(puts()).toBe(0);
    const updated = await tpx(['connection', 'apply', '-f', file, '--pipe-count', '4'], { env });
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toContain('configuration.pipeCount: 1 -> 4');
    expect(updated.stdout).toContain(`Updated connection ${id} "from-file"`);
    expect(emu.connections()).toHaveLength(1);
    expect(emu.connections()[0]!.configuration).toMatchObject({ pipeCount: 4, hostName: 'twx.file:8443' });
    const again = await tpx(['connection', 'apply', '-f', file, '--pipe-count', '4'], { env });
    expect(again.stdout).toBe(`Connection ${id} "from-file" is unchanged.\n`);
  });

  it('refuses a name held by two connections, and a file with unknown fields', async () => {
    const env = { TPX_THINGWORX_APP_KEY: APP_KEY };
    const create = ['connection', 'create', '--name', 'twice', '--host-name', 'h:1', '--allow-duplicate'];
    expect((await tpx(create, { env })).code).toBe(0);
    expect((await tpx(create, { env })).code).toBe(0);
    const r = await tpx(['connection', 'apply', '--name', 'twice', '--pipe-count', '3'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/2 connections are named "twice" \(\d+, \d+\); apply cannot choose/);
    const file = join(home.dir, 'bad.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, JSON.stringify({ name: 'x', configuration: { hostname: 'typo:1' } }));
    const bad = await tpx(['connection', 'apply', '-f', file], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('has fields tpx does not know: configuration.hostname');
  });

  it('names a bad value by where it came from: the -f file field, the flag over it, TPX_*, the profile', async () => {
    const { writeFileSync } = await import('node:fs');
    const file = join(home.dir, 'bad-value.json');
    writeFileSync(file, JSON.stringify({ name: 'ci', configuration: { pipeCount: 'x' } }));
    const env = { TPX_THINGWORX_APP_KEY: APP_KEY };
    const r = await tpx(['connection', 'apply', '-f', file, '--host-name', 'h:1', '--json'], { env });
    expect(r.code).toBe(2);
    const error = JSON.parse(r.stdout).error;
    expect(error.message).toBe(`configuration.pipeCount in ${file} must be a whole number from 1 to 255 (got "x").`);
    expect(error.fix).toBe(`Correct configuration.pipeCount in ${file} and run the command again.`);
    expect(r.stderr).not.toContain('--pipe-count');
    // The flag wins over the file: its bad value is the flag's.
    const flag = await tpx(['connection', 'apply', '-f', file, '--pipe-count', '0', '--host-name', 'h:1'], { env });
    expect(flag.stderr).toContain('error: --pipe-count must be a whole number from 1 to 255 (got "0").');
    // create/apply take pipeCount and template from TPX_* and the profile too.
    const fromEnv = await tpx(['connection', 'create', '--name', 'e', '--host-name', 'h:1'], {
      env: { ...env, TPX_PIPE_COUNT: '300' },
    });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('error: TPX_PIPE_COUNT must be a whole number from 1 to 255 (got "300").');
    expect((await tpx(['--profile', 'words', 'profile', 'set', 'template', '9bad'])).code).toBe(0);
    const fromProfile = await tpx(['--profile', 'words', 'connection', 'apply', '--name', 'p', '--host-name', 'h:1'], {
      env,
    });
    expect(fromProfile.code).toBe(2);
    expect(fromProfile.stderr).toContain('error: template in profile "words" must be a ThingWorx entity name');
    expect(emu.connections()).toHaveLength(0);
  });
});

describe('tpx connection create', () => {
  it('refuses a name that exists unless --allow-duplicate (re-runs made duplicates)', async () => {
    const args = ['connection', 'create', '--name', 'dup', '--host-name', 'twx.dup:8443'];
    const env = { TPX_THINGWORX_APP_KEY: APP_KEY };
    expect((await tpx(args, { env })).code).toBe(0);
    const again = await tpx(args, { env });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('A connection named "dup" already exists');
    expect(again.stderr).toContain('connection apply');
    expect(emu.connections()).toHaveLength(1);
    expect((await tpx([...args, '--allow-duplicate'], { env })).code).toBe(0);
    expect(emu.connections()).toHaveLength(2);
  });

  it('names the flag, the TPX_* variable and the profile key of a missing app key', async () => {
    const r = await tpx(['connection', 'create', '--name', 'x', '--host-name', 'h:1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: --app-key is required.');
    expect(r.stderr).toContain(
      'fix: Pass --app-key, set TPX_THINGWORX_APP_KEY, or run "tpx profile set thingworxAppKey <value>".',
    );
  });

  it('says how to give every missing value', async () => {
    const r = await tpx(['connection', 'create']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'error: --name is required; --host-name is required; --app-key is required.\n' +
        'fix: Pass --name, --host-name, --app-key (or set TPX_THINGWORX_APP_KEY, or run "tpx profile set thingworxAppKey <value>").\n',
    );
  });

  it('says the masked placeholder is not the key', async () => {
    const r = await tpx(['connection', 'create', '--name', 'x', '--host-name', 'h:1', '--app-key', '*****']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--app-key is the masked placeholder ThingPark shows, not the key');
  });

  it('keeps --profile in the suggested next command', async () => {
    expect((await tpx(['--profile', 'ci', 'profile', 'set', 'thingparkUrl', emu.url])).code).toBe(0);
    const r = await tpx([
      '--profile',
      'ci',
      'connection',
      'create',
      '--name',
      'p',
      '--host-name',
      'h:1',
      '--app-key',
      APP_KEY,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Follow it with: tpx --profile ci connection get \d+/);
  });
});

describe('secrets are never changed silently', () => {
  it('update on a terminal shows each secret sent with its source and confirms them', async () => {
    const env = { TPX_THINGWORX_APP_KEY: APP_KEY, TPX_CONNECTION_DOWNLINK_AS_KEY: AS_KEY };
    await tpx(['connection', 'create', '--name', 'sec', '--host-name', 'h:1', '--downlink-as-key', AS_KEY], { env });
    const id = emu.connections()[0]!.id;
    const r = await tpx(['connection', 'update', id, '--pipe-count', '3'], {
      env,
      answers: { [`Update connection ${id}`]: true },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('configuration.pipeCount: 1 -> 3');
    expect(r.stdout).toContain(
      'configuration.applicationKey: re-sent from TPX_THINGWORX_APP_KEY — ThingPark masks it, so tpx cannot tell if it changes',
    );
    expect(r.stdout).toContain('configuration.downlinkAsKey: re-sent from TPX_CONNECTION_DOWNLINK_AS_KEY');
    expect(r.asked).toEqual([
      `Update connection ${id}, sending applicationKey from TPX_THINGWORX_APP_KEY and downlinkAsKey from TPX_CONNECTION_DOWNLINK_AS_KEY?`,
    ]);
  });

  it("never takes the bridge's tunnel key (TPX_AS_KEY) as the connection's downlink AS key", async () => {
    const env = { TPX_THINGWORX_APP_KEY: APP_KEY };
    await tpx(['connection', 'create', '--name', 'tun', '--host-name', 'h:1', '--downlink-as-key', AS_KEY], { env });
    const id = emu.connections()[0]!.id;
    const r = await tpx(['connection', 'update', id, '--pipe-count', '3', '--yes'], {
      env: { ...env, TPX_AS_KEY: TUNNEL_KEY },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('without its downlink AS key');
    expect(r.stderr).toContain('TPX_CONNECTION_DOWNLINK_AS_KEY');
    expect(emu.connections()[0]!.configuration).toMatchObject({ downlinkAsKey: AS_KEY, pipeCount: 1 });
    // create ignores TPX_AS_KEY too
    const c = await tpx(['connection', 'create', '--name', 'tun2', '--host-name', 'h:1'], {
      env: { ...env, TPX_AS_KEY: TUNNEL_KEY },
    });
    expect(c.code, c.stderr).toBe(0);
    expect(emu.connections().find((x) => x.name === 'tun2')!.configuration.downlinkAsKey).toBeUndefined();
  });
});

describe('prompts', () => {
  it('Ctrl-C at a prompt says cancelled and exits 130', async () => {
    const sigint = Object.assign(new Error('User force closed the prompt with SIGINT'), { name: 'ExitPromptError' });
    const r = await tpx(['connection', 'create'], { answers: { 'Connection name': sigint } });
    expect(r.code).toBe(130);
    expect(r.stderr).toBe('error: Cancelled.\n');
  });

  it('an empty ThingPark URL asks again instead of aborting, and the answers can be saved in the profile', async () => {
    let urlAsked = 0;
    const stdout = new BufferWriter(true);
    const stderr = new BufferWriter(true);
    const app = new App({
      stdout,
      stderr,
      stdinIsTTY: true,
      env: { ...home.env, TPX_PROFILE: 'saved' },
      prompter: {
        input: async (m, o) => {
          if (m.startsWith('ThingPark URL')) {
            urlAsked += 1;
            expect(o?.validate?.('')).toMatch(/required/);
            expect(o?.validate?.('nope')).toMatch(/not a URL/);
            return emu.url;
          }
          if (m.startsWith('ThingPark client id')) return emu.clientId;
          throw new Error(`unexpected prompt ${m}`);
        },
        password: async () => emu.clientSecret,
        confirm: async (m) => {
          expect(m).toBe(
            'Save thingparkUrl, thingparkClientId, thingparkClientSecret in profile "saved" for next time?',
          );
          return true;
        },
        select: async () => {
          throw new Error('no select');
        },
      },
    });
    expect(await runCli(['connection', 'list'], app)).toBe(0);
    expect(urlAsked).toBe(1);
    const saved = JSON.parse(readFileSync(join(home.dir, 'tpx', 'config.json'), 'utf8')) as {
      profiles: Record<string, Record<string, string>>;
    };
    expect(saved.profiles.saved).toMatchObject({ thingparkUrl: emu.url, thingparkClientId: emu.clientId });
    expect(stderr.text).not.toContain(emu.clientSecret);
  });
});

describe('messages', () => {
  it('a wrong API path says so instead of the circular "check the id with tpx connection list"', async () => {
    const r = await tpx(['connection', 'list'], { url: `${emu.url}/wrong/api` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ThingPark found nothing to list connections');
    expect(r.stderr).toContain('the API flavour');
    expect(r.stderr).not.toContain('Check the id');
    const one = await tpx(['connection', 'get', '424242']);
    expect(one.stderr).toContain('Check the id with "tpx connection list"');
  });

  it('an empty id is a usage error (it addressed the whole collection)', async () => {
    const r = await tpx(['connection', 'get', '']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('The connection id is empty.');
  });
});

describe('bounded waits against fake servers', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });
  async function fake(api: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
    const s = createServer((req, res) => {
      if (req.url?.startsWith('/users-auth/')) {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ access_token: 't', expires_in: 60 }));
        return;
      }
      api(req, res);
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `127.0.0.1:${(s.address() as AddressInfo).port}`;
  }

  it('SIGTERM / SIGINT while ThingPark is slow: the cancel said (one JSON document with --json), exit 143 / 130', async () => {
    let arrived: () => void = () => undefined;
    const host = await fake(() => arrived()); // never answers
    const env = {
      ...home.env,
      TPX_THINGPARK_URL: `http://${host}`,
      TPX_THINGPARK_CLIENT_ID: 'id',
      TPX_THINGPARK_CLIENT_SECRET: 'secret',
    };
    const start = async (args: string[]) => {
      const waiting = new Promise<void>((r) => {
        arrived = r;
      });
      const p = new InProcess(['connection', 'list', '--timeout', '20s', ...args], { env });
      await waiting;
      return p;
    };
    const json = await (await start(['--json'])).kill('SIGTERM');
    expect(json.code).toBe(143);
    expect(json.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(json.stdout)).toEqual({
      error: { code: 'TPX_CANCELLED', message: 'Cancelled (SIGTERM).', details: { signal: 'SIGTERM' } },
    });
    expect(json.stderr).toBe('error: Cancelled (SIGTERM).\n');
    const text = await (await start([])).interrupt();
    expect(text).toMatchObject({ code: 130, stdout: '', stderr: 'error: Cancelled.\n' });
  });

  it('a server that takes the login and never answers: one line, exit 1, within --timeout', async () => {
    const host = await fake(() => undefined);
    const t0 = Date.now();
    const r = await tpx(['connection', 'list', '--timeout', '300ms'], { url: `http://${host}` });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: ThingPark at ${host} did not answer within 300ms (listing connections).\n` +
        `fix: Check that ${host} is up and reachable from here, or wait longer with --timeout / TPX_TIMEOUT (e.g. 2m).\n`,
    );
  });

  it('TPX_TIMEOUT bounds a slow server too; --json carries the data', async () => {
    const host = await fake((_req, res) => {
      const t = setTimeout(() => res.end('[]'), 5000);
      res.on('close', () => clearTimeout(t));
    });
    const r = await tpx(['connection', 'list', '--json'], { url: `http://${host}`, env: { TPX_TIMEOUT: '250ms' } });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({
      code: 'TPX_HTTP_TIMEOUT',
      details: { service: 'ThingPark', host, timeoutMs: 250, operation: 'listing connections' },
    });
    const bad = await tpx(['connection', 'list', '--timeout', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--timeout must be a duration');
    const badEnv = await tpx(['connection', 'list'], { env: { TPX_TIMEOUT: 'soon' } });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('TPX_TIMEOUT must be a duration');
  });

  it('create against a failing server names the create, not "listing the connectors"', async () => {
    const host = await fake((req, res) => {
      if (req.method === 'GET' && req.url?.endsWith('/connections')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
        return;
      }
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"code":25,"message":"unknown error"}');
    });
    const r = await tpx(['connection', 'create', '--name', 'n', '--host-name', 'h:1', '--app-key', APP_KEY], {
      url: `http://${host}`,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain('connectors:');
    expect(r.stderr).toContain('while trying to create connection "n"');
  });

  it('https against a plain-HTTP server: one line naming it, no OpenSSL text', async () => {
    const host = await fake(() => undefined);
    const r = await tpx(['connection', 'list'], { url: `https://${host}` });
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toEqual([
      `error: The ThingPark token endpoint at ${host} does not speak TLS: a plain-HTTP server answered the https:// URL (getting an access token).`,
      `fix: Use http://${host} if it is a local emulator, otherwise check the port of the URL (--thingpark-url / TPX_THINGPARK_URL).`,
    ]);
  });
});
