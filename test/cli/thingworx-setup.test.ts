/**
 * `tpx thingworx setup` through bin/tpx.js against the ThingWorx emulator: a bare platform set up, then checked
 * with the new key; a second run changing nothing; --dry-run; a non-administrator key; --save-profile.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../src/cli/app.js';
import { BufferWriter } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import {
  type EmulatorState,
  startThingWorxEmulator,
  type ThingWorxEmulator,
} from '../../src/emulators/thingworx/index.js';
import { tempConfigHome } from '../helpers/cli.js';
import { runInProcess } from '../helpers/run.js';

const open: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function platform(state: EmulatorState = {}) {
  const emu = await startThingWorxEmulator({ port: 0, state });
  const home = tempConfigHome();
  open.push(emu, { close: home.cleanup });
  const env = { ...home.env, TPX_THINGWORX_URL: emu.restUrl, TPX_THINGWORX_CA: emu.caFile };
  return { emu, home, env };
}

/** The platform's state without volatile parts, to compare before/after. */
function snapshot(emu: ThingWorxEmulator): string {
  return JSON.stringify(emu.state());
}

describe('tpx thingworx setup', () => {
  it('sets up a bare platform; thingworx check with the new key then passes; a second run changes nothing', async () => {
    const { emu, env } = await platform();
    const r = await runInProcess(
      ['thingworx', 'setup', '--admin-key', emu.appKey, '--bind-policy', 'last-in-wins', '--json'],
      { env },
    );
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(r.code, r.stdout).toBe(0);
    expect(doc).toMatchObject({
      ok: true,
      dryRun: false,
      changed: true,
      user: 'tpx-connector',
      keyName: 'tpx-connector-key',
      keyCreated: true,
    });
    const key = doc.appKey as string;
    expect(key).toBe(emu.keyId('tpx-connector-key'));
    expect(doc.steps.every((s: { status: string }) => s.status === 'done' || s.status === 'ok')).toBe(true);
    expect(doc.checks.ok).toBe(true);
    // The checks after setup read the policy with the administrator's key setup just used: none asks for it.
    const items = doc.checks.items as { id: string; method?: string; detail: string; fix?: string }[];
    expect(items.find((i) => i.id === 'bind-policy')?.method).toMatch(/^read /);
    expect(JSON.stringify(items)).not.toContain('--admin-key');
    const exp = Date.parse(doc.keyExpiresAt);
    expect(exp).toBeGreaterThan(Date.now() + 364 * 86_400_000);
    expect(exp).toBeLessThan(Date.now() + 367 * 86_400_000);

    // What was granted is exactly the guide's list, for this user.
    const state = emu.state();
    expect(state.users?.find((u) => u.name === 'tpx-connector')).toBeTruthy();
    const coll = state.permissions?.collections ?? {};
    for (const c of ['Things', 'ThingTemplates']) {
      expect(coll[c]?.visibility).toEqual(['Composer']);
      expect(
        (coll[c]?.designTime ?? []).map((d) => `${d.principal}:${d.principalType}:${d.type}:${d.allow}`).sort(),
      ).toEqual(['tpx-connector:User:Create:true', 'tpx-connector:User:Read:true']);
    }
    const es = state.permissions?.entities?.['Resources/EntityServices'];
    expect(es?.visibility).toEqual(['Composer']);
    expect((es?.runTime ?? []).map((p) => `${p.principal}:${p.resource}:${p.type}:${p.allow}`).sort()).toEqual([
      'tpx-connector:CreateThing:ServiceInvoke:true',
      'tpx-connector:CreateThingTemplate:ServiceInvoke:true',
      'tpx-connector:GetEntityList:ServiceInvoke:true',
    ]);
    expect(state.subsystem?.bindProtectionPolicy).toBe('last-in-wins');

    // The template was created with the new key: its owner is the connector user.
    expect(state.templates?.find((t) => t.name === 'actilityThingTemplateSF')?.owner).toBe('tpx-connector');

    const check = await runInProcess(['thingworx', 'check', '--write-probe', '--json'], {
      env: { ...env, TPX_THINGWORX_APP_KEY: key },
    });
    const report = JSON.parse(check.stdout);
    expect(check.code, check.stdout).toBe(0);
    // Every item passes; only listing the sessions needs an administrator key, and looking for an Actility-hosted
    // connection the ThingPark settings.
    expect(
      report.items.filter((i: { status: string }) => i.status !== 'passed').map((i: { id: string }) => i.id),
    ).toEqual(['ghost-sessions', 'connectors', 'hosted-connection']);

    const before = snapshot(emu);
    const out = new BufferWriter();
    const err = new BufferWriter();
    const code = await runCli(
      ['thingworx', 'setup', '--admin-key', emu.appKey, '--bind-policy', 'last-in-wins'],
      new App({ stdout: out, stderr: err, env }),
    );
    const again = { code, stdout: out.text, stderr: err.text };
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('Nothing to change: ThingWorx is already set up for tpx-connector.');
    expect(again.stdout + again.stderr).not.toContain(key);
    expect(again.stdout).not.toMatch(/changed/);
    expect(snapshot(emu)).toBe(before);
  });

  it('--dry-run lists every step and changes nothing', async () => {
    const { emu, env } = await platform();
    const before = snapshot(emu);
    const r = await runInProcess(
      ['thingworx', 'setup', '--admin-key', emu.appKey, '--dry-run', '--bind-policy', 'last-in-wins'],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(snapshot(emu)).toBe(before);
    for (const line of [
      /Connector user tpx-connector\t~ would change\twould be created/,
      /Application key tpx-connector-key\t~ would change\twould be created for tpx-connector, expires \d{4}-/,
      /EntityServices: tpx-connector may execute CreateThing, CreateThingTemplate, GetEntityList\t~ would change/,
      /Bind Protection Policy: Last in wins\t~ would change\twould change FirstInWins → LastInWins/,
      /Thing Template actilityThingTemplateSF\t~ would change\twould create it with 11 properties/,
    ]) {
      expect(r.stdout).toMatch(line);
    }
    expect(r.stderr).toMatch(/Dry run: \d+ step\(s\) would change the platform; nothing was written\./);
    expect(r.stderr).toContain('Checks skipped (dry run)');
  });

  it("a key that is not an administrator's fails naming the exact missing right, and changes nothing", async () => {
    const { emu, env } = await platform({
      users: [{ name: 'bob' }, { name: 'eve' }],
      appKeys: [
        {
          name: 'bob-key',
          keyId: '7b0e4c1a-1111-4222-8333-944455556666',
          user: 'bob',
          expiresAt: '2099-01-01T00:00:00Z',
        },
        {
          name: 'eve-key',
          keyId: 'e7e7e7e7-2222-4333-8444-955566667777',
          user: 'eve',
          expiresAt: '2099-01-01T00:00:00Z',
        },
      ],
      permissions: {
        entities: {
          'Resources/EntityServices': {
            visibility: ['Composer'],
            runTime: [
              {
                principal: 'bob',
                principalType: 'User',
                resource: 'GetEntityList',
                type: 'ServiceInvoke',
                allow: true,
              },
            ],
          },
        },
      },
    });
    const before = snapshot(emu);
    const r = await runInProcess(
      ['thingworx', 'setup', '--admin-key', '7b0e4c1a-1111-4222-8333-944455556666', '--json'],
      {
        env,
      },
    );
    expect(r.code).toBe(1);
    const err = JSON.parse(r.stdout).error;
    expect(err.code).toBe('TPX_SETUP_FORBIDDEN');
    expect(err.message).toMatch(
      /^Connector user tpx-connector: the administrator credentials lack a right: Not authorized for /,
    );
    expect(err.details.missingRight).toMatch(
      /^Not authorized for (ServiceInvoke on CreateUser in EntityServices|Create in Users)$/,
    );
    expect(err.fix).toMatch(/administrator/);
    expect(snapshot(emu)).toBe(before);
    expect(r.stdout).not.toContain('7b0e4c1a-1111-4222-8333-944455556666');

    // A user who may not even list entities: that is the right named.
    const stdout = new BufferWriter();
    const stderr = new BufferWriter();
    const code = await runCli(
      ['thingworx', 'setup', '--admin-key', 'e7e7e7e7-2222-4333-8444-955566667777'],
      new App({ stdout, stderr, env }),
    );
    expect(code).toBe(1);
    expect(stdout.text).toMatch(
      /Administrator credentials\t✓ ok\taccepted \(user eve; not in the Administrators group/,
    );
    expect(stdout.text).toMatch(
      /Connector user tpx-connector\t✗ failed\tmissing right: Not authorized for ServiceInvoke on GetEntityList in EntityServices/,
    );
    expect(stderr.text).toMatch(
      /^error: Connector user tpx-connector: the administrator credentials lack a right: Not authorized for ServiceInvoke on GetEntityList in EntityServices\.$/m,
    );
    expect(snapshot(emu)).toBe(before);
  });

  it('--save-profile stores the key instead of printing it; admin user and password work too', async () => {
    const { emu, env, home } = await platform();
    const r = await runInProcess(
      [
        'thingworx',
        'setup',
        '--admin-user',
        'Administrator',
        '--admin-password',
        'admin',
        '--save-profile',
        'lab',
        '--key-expiry',
        '90d',
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const key = emu.keyId('tpx-connector-key');
    expect(r.stdout + r.stderr).not.toContain(key);
    expect(r.stderr).toContain('Saved the URL and the application key of tpx-connector in profile lab.');
    const config = JSON.parse(readFileSync(join(home.dir, 'tpx', 'config.json'), 'utf8'));
    expect(config.profiles.lab).toMatchObject({
      thingworxUrl: emu.restUrl,
      thingworxAppKey: key,
      thingworxCa: emu.caFile,
    });
    const expires = Date.parse(emu.state().appKeys!.find((k) => k.name === 'tpx-connector-key')!.expiresAt!);
    expect(Math.round((expires - Date.now()) / 86_400_000)).toBe(90);
  });

  it('--admin-user/--admin-password: the checks after setup read the policy and sessions with them', async () => {
    const { env } = await platform();
    const r = await runInProcess(
      ['thingworx', 'setup', '--admin-user', 'Administrator', '--admin-password', 'admin', '--json'],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const items = JSON.parse(r.stdout).checks.items as { id: string; method?: string; fix?: string }[];
    expect(items.find((i) => i.id === 'bind-policy')?.method).toMatch(/^read /);
    expect(JSON.stringify(items)).not.toMatch(/needs an administrator key|--admin-key/);
  });

  it('shows the new key once (human output) and a progress line per step on a TTY', async () => {
    const { emu, env } = await platform();
    const stdout = new BufferWriter(false);
    const stderr = new BufferWriter(true);
    const app = new App({ stdout, stderr, env, stdinIsTTY: false });
    const code = await runCli(['thingworx', 'setup', '--admin-key', emu.appKey], app);
    expect(code, stderr.text).toBe(0);
    const key = emu.keyId('tpx-connector-key');
    expect(stdout.text.split(key).length - 1).toBe(1);
    expect(stderr.text).not.toContain(key);
    expect(stderr.text).toMatch(/\[1\/10\] Administrator credentials: accepted \(user Administrator\)/);
    expect(stderr.text).toMatch(/\+ \[2\/10\] Connector user tpx-connector: created/);
    expect(stderr.text).toMatch(/\[9\/10\] EntityServices: tpx-connector may execute/);
    expect(stderr.text).toMatch(/\+ \[10\/10\] Thing Template actilityThingTemplateSF: created with 11 properties/);
    expect(stdout.text).toContain('Checks with the new key');
  });

  it('--collections, --organization and --skip-template change what is granted and done', async () => {
    const p = await platform({ organizations: [{ name: 'Ops', members: ['Users'] }] });
    const emu = p.emu;
    // --admin-key on the command line wins over an administrator user in the environment.
    const env = { ...p.env, TPX_THINGWORX_ADMIN_USER: 'Administrator', TPX_THINGWORX_ADMIN_PASSWORD: 'wrong' };
    const stdout = new BufferWriter();
    const stderr = new BufferWriter();
    const code = await runCli(
      [
        'thingworx',
        'setup',
        '--admin-key',
        emu.appKey,
        '--dry-run',
        '--json',
        '--collections',
        'Things',
        '--organization',
        'Ops',
        '--skip-template',
      ],
      new App({ stdout, stderr, env }),
    );
    expect(code, stderr.text).toBe(0);
    const doc = JSON.parse(stdout.text);
    expect(doc.steps.map((s: { id: string }) => s.id)).toEqual([
      'admin',
      'user',
      'key',
      'visibility:Things',
      'designTime:Things',
      'visibility:EntityServices',
      'runTime:EntityServices',
    ]);
    expect(doc.steps[3].title).toBe('Things collection: visibility for the Ops organization');
    expect(doc.appKey).toBeUndefined();
    expect(doc.checks).toBeUndefined();
  });

  it('refuses bad input before sending anything', async () => {
    const { emu, env } = await platform();
    const requests: unknown[] = [];
    emu.events.on('rest', (e) => requests.push(e));
    for (const [args, text] of [
      [['--key-expiry', 'never'], /Invalid --key-expiry "never": a key must expire/],
      [['--key-expiry', '2001-01-01'], /not in the future/],
      [['--bind-policy', 'sometimes'], /Invalid --bind-policy "sometimes"/],
      [['--user', 'a b'], /Invalid --user "a b"/],
      [['--save-profile', '../x'], /Invalid profile name/],
      [['--collections', ' , '], /Invalid --collections/],
      [['--key-name', 'a/b'], /Invalid --key-name "a\/b"/],
    ] as [string[], RegExp][]) {
      const stdout = new BufferWriter();
      const stderr = new BufferWriter();
      const code = await runCli(
        ['thingworx', 'setup', '--admin-key', emu.appKey, ...args],
        new App({ stdout, stderr, env }),
      );
      expect(code).toBe(2);
      expect(stderr.text).toMatch(text);
    }
    expect(requests).toEqual([]);
  });
});
