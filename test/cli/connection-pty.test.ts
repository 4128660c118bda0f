/**
 * `tpx connection` on a real pseudo-terminal: bin/tpx.js runs under util-linux `script`, which gives it a pty,
 * so the real prompts (@inquirer/prompts) are answered the way a person types. Checks the app key is never echoed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThingParkEmulator, type ThingParkEmulator } from '../../src/emulators/thingpark/index.js';
import { spawnOnPty, tempConfigHome } from '../helpers/cli.js';

const APP_KEY = 'pty-typed-app-key-31d9';
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

/** Runs tpx on a pty; each time the output matches the next pattern, types the answer. */
function onPty(args: string[], steps: [RegExp, string][]): Promise<{ code: number | null; output: string }> {
  const child = spawnOnPty(args, {
    ...home.env,
    TPX_THINGPARK_URL: emu.url,
    TPX_THINGPARK_CLIENT_ID: emu.clientId,
    TPX_THINGPARK_CLIENT_SECRET: emu.clientSecret,
  });
  let output = '';
  let seen = 0;
  const pending = [...steps];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pty run timed out; output so far:\n${output}`));
    }, 30_000);
    const onData = (d: Buffer) => {
      output += d.toString('utf8');
      while (pending.length && pending[0]![0].test(output.slice(seen))) {
        const [re, answer] = pending.shift()!;
        seen += output.slice(seen).search(re) + 1;
        child.stdin.write(answer);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('tpx connection on a pseudo-terminal', () => {
  it('create prompts, hides the app key, and creates; delete asks y/N', async () => {
    const created = await onPty(
      ['connection', 'create', '--pipe-count', '2'],
      [
        [/Connection name/, 'pty-lab\r'],
        [/ThingWorx host:port/, 'twx.pty:8443\r'],
        [/ThingWorx application key/, `${APP_KEY}\r`],
        [/Save thingworxAppKey in profile/, 'n\r'],
      ],
    );
    expect(created.code, created.output).toBe(0);
    expect(created.output).toMatch(/Created connection \d+ "pty-lab"/);
    expect(created.output).not.toContain(APP_KEY);
    const stored = emu.connections().find((c) => c.name === 'pty-lab')!;
    expect(stored.configuration).toMatchObject({ hostName: 'twx.pty:8443', applicationKey: APP_KEY, pipeCount: 2 });

    const deleted = await onPty(['connection', 'delete', stored.id], [[/Delete connection/, 'y\r']]);
    expect(deleted.code, deleted.output).toBe(0);
    expect(deleted.output).toContain(`Deleted connection ${stored.id} "pty-lab".`);
    expect(emu.connections().some((c) => c.id === stored.id)).toBe(false);
  });

  it('Ctrl-C at a prompt says cancelled and exits 130', async () => {
    const r = await onPty(['connection', 'create'], [[/Connection name/, '\x03']]);
    expect(r.code, r.output).toBe(130);
    expect(r.output).toContain('error: Cancelled.');
    expect(r.output).not.toContain('User force closed');
  });
});
