/** `tpx connection …` on a TTY: prompts (injected prompter), hidden secrets, confirmations. In-process against the emulator. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App } from '../../src/cli/app.js';
import { BufferWriter, type Prompter } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { startThingParkEmulator, type ThingParkEmulator } from '../../src/emulators/thingpark/index.js';
import { tempConfigHome } from '../helpers/cli.js';

const APP_KEY = 'prompted-app-key-7c21';
let emu: ThingParkEmulator;
let home: ReturnType<typeof tempConfigHome>;
beforeAll(async () => {
  emu = await startThingParkEmulator({ openingDelayMs: 0 });
  home = tempConfigHome();
});
afterAll(async () => {
  await emu.close();
  home.cleanup();
});

interface Asked {
  kind: 'input' | 'password' | 'confirm';
  message: string;
  validate?: (v: string) => string | true;
}

/** Answers prompts by the start of their message; records every prompt. */
function scripted(answers: Record<string, string | boolean>) {
  const asked: Asked[] = [];
  const answer = (kind: Asked['kind'], message: string, validate?: (v: string) => string | true) => {
    asked.push({ kind, message, validate });
    const key = Object.keys(answers).find((k) => message.startsWith(k));
    if (key === undefined) throw new Error(`unexpected prompt: ${message}`);
    return answers[key]!;
  };
  const prompter: Prompter = {
    input: async (m, o) => String(answer('input', m, o?.validate)),
    password: async (m, o) => String(answer('password', m, o?.validate)),
    confirm: async (m) => Boolean(answer('confirm', m)),
    select: async () => {
      throw new Error('no select expected');
    },
  };
  return { prompter, asked };
}

async function run(argv: string[], answers: Record<string, string | boolean>, env: NodeJS.ProcessEnv = {}) {
  const stdout = new BufferWriter(true);
  const stderr = new BufferWriter(true);
  const { prompter, asked } = scripted(answers);
  const app = new App({
    stdout,
    stderr,
    stdinIsTTY: true,
    prompter,
    env: {
      ...home.env,
      TPX_THINGPARK_URL: emu.url,
      TPX_THINGPARK_CLIENT_ID: emu.clientId,
      TPX_THINGPARK_CLIENT_SECRET: emu.clientSecret,
      ...env,
    },
  });
  const code = await runCli(argv, app);
  const all = stdout.text + stderr.text;
  expect(all).not.toContain(APP_KEY);
  expect(all).not.toContain(emu.clientSecret);
  return { code, stdout: stdout.text, stderr: stderr.text, asked };
}

describe('tpx connection on a TTY', () => {
  let id = '';

  it('create prompts for name, host and (hidden) app key, with field checks', async () => {
    const r = await run(['connection', 'create'], {
      'Connection name': 'lab',
      'ThingWorx host:port': 'twx.lab:8443',
      'ThingWorx application key': APP_KEY,
      'Save thingworxAppKey': false,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.asked.map((a) => [a.kind, a.message])).toEqual([
      ['input', 'Connection name'],
      ['input', 'ThingWorx host:port'],
      ['password', 'ThingWorx application key'],
      ['confirm', 'Save thingworxAppKey in profile "default" for next time?'],
    ]);
    expect(r.asked[0]!.validate!('  ')).toMatch(/required/);
    expect(r.asked[1]!.validate!('https://twx')).toMatch(/without a scheme/);
    expect(r.asked[1]!.validate!('twx:443')).toBe(true);
    expect(r.asked[2]!.validate!('short')).toMatch(/too short/);
    const stored = emu.connections().find((c) => c.name === 'lab')!;
    expect(stored.configuration).toMatchObject({ hostName: 'twx.lab:8443', applicationKey: APP_KEY, pipeCount: 1 });
    id = stored.id;
    expect(r.stdout).toContain(`Created connection ${id} "lab"`);
  });

  it('refuses bad flags before prompting, and takes the host from thingworxUrl', async () => {
    const bad = await run(['connection', 'create', '--pipe-count', '0'], {});
    expect(bad.code).toBe(2);
    expect(bad.asked).toEqual([]);
    expect(bad.stderr).toContain('--pipe-count must be a whole number from 1 to 255');
    const r = await run(
      ['connection', 'create', '--dry-run', '--json'],
      {},
      { TPX_THINGWORX_URL: 'https://twx.from-profile:8443', TPX_THINGWORX_APP_KEY: APP_KEY },
    );
    expect(r.code, r.stderr).toBe(2); // --json never prompts, so the missing name is a usage error
    const named = await run(
      ['connection', 'create', '--dry-run'],
      { 'Connection name': 'dry' },
      {
        TPX_THINGWORX_URL: 'https://twx.from-profile:8443',
        TPX_THINGWORX_APP_KEY: APP_KEY,
      },
    );
    expect(named.code, named.stderr).toBe(0);
    expect(named.asked.map((a) => a.message)).toEqual(['Connection name']);
    expect(named.stdout).toContain('"hostName": "twx.from-profile:8443"');
    expect(named.stderr).toContain('Using ThingWorx host twx.from-profile:8443 from thingworxUrl.');
  });

  it('asks for the client secret hidden when it is not configured', async () => {
    const r = await run(
      ['connection', 'list'],
      { 'ThingPark client secret': emu.clientSecret, 'Save thingparkClientSecret': false },
      { TPX_THINGPARK_CLIENT_SECRET: '' },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.asked.map((a) => a.kind)).toEqual(['password', 'confirm']);
    expect(r.stdout).toContain('lab');
  });

  it('update asks for the app key (hidden) and a confirmation, then keeps the rest', async () => {
    const r = await run(['connection', 'update', id, '--template', 'tplNew'], {
      'ThingWorx application key': APP_KEY,
      [`Update connection ${id}`]: true,
      'Save thingworxAppKey': false,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.asked.map((a) => a.kind)).toEqual(['password', 'confirm', 'confirm']);
    expect(r.stdout).toContain('configuration.thingTemplateName: actilityThingTemplateSF -> tplNew');
    expect(emu.connections().find((c) => c.id === id)!.configuration).toMatchObject({
      thingTemplateName: 'tplNew',
      hostName: 'twx.lab:8443',
      applicationKey: APP_KEY,
    });
  });

  it('a declined update or delete changes nothing', async () => {
    const up = await run(
      ['connection', 'update', id, '--pipe-count', '5'],
      { [`Update connection ${id}`]: false },
      { TPX_THINGWORX_APP_KEY: APP_KEY },
    );
    expect(up.code).toBe(1);
    expect(up.stderr).toContain('Update cancelled; nothing was changed.');
    expect(emu.connections().find((c) => c.id === id)!.configuration.pipeCount).toBe(1);
    const del = await run(['connection', 'delete', id], { [`Delete connection ${id}`]: false });
    expect(del.code).toBe(1);
    expect(emu.connections().some((c) => c.id === id)).toBe(true);
  });

  it('delete asks and deletes; --json never prompts', async () => {
    const json = await run(['connection', 'delete', id, '--json'], {});
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error.message).toContain('needs confirmation');
    const del = await run(['connection', 'delete', id], { [`Delete connection ${id} "lab"?`]: true });
    expect(del.code, del.stderr).toBe(0);
    expect(del.stderr).toContain(`Deleted connection ${id} "lab".`);
    expect(emu.connections().some((c) => c.id === id)).toBe(false);
    const noPrompt = await run(['connection', 'create', '--json'], {});
    expect(noPrompt.code).toBe(2);
    expect(noPrompt.asked).toEqual([]);
  });
});
