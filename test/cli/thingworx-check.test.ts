import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { tempConfigHome } from '../helpers/cli.js';
import { runInProcess as runTpx } from '../helpers/run.js';
import { ADMIN_KEY, CONNECTOR_KEY, stateFile } from '../thingworx/scenario-states.js';

describe('tpx thingworx check (in-process)', () => {
  const home = tempConfigHome();
  let good: ThingWorxEmulator;
  let bad: ThingWorxEmulator;
  beforeAll(async () => {
    good = await startThingWorxEmulator({ state: stateFile('fully-set-up') });
    bad = await startThingWorxEmulator({ state: stateFile('no-get-entity-list') });
  });
  afterAll(async () => {
    await good.close();
    await bad.close();
    home.cleanup();
  });

  it('a fully set-up platform: every item passed or skipped, --json, exit 0, key never printed', async () => {
    const r = await runTpx(
      ['thingworx', 'check', '--thingworx-url', good.restUrl, '--ca', good.caFile, '--write-probe', '--json'],
      { env: { ...home.env, TPX_THINGWORX_APP_KEY: CONNECTOR_KEY } },
    );
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { ok: boolean; items: { id: string; status: string }[] };
    expect(doc.ok).toBe(true);
    expect(doc.items.filter((i) => i.status !== 'passed').map((i) => i.id)).toEqual([
      'ghost-sessions',
      'connectors',
      'hosted-connection',
    ]);
    expect(r.stdout + r.stderr).not.toContain(CONNECTOR_KEY);
  });

  it('--write-probe with CreateThing refused: the BIND item says the probe was refused, not "run with --write-probe"', async () => {
    const noCreate = await startThingWorxEmulator({ state: stateFile('no-create-thing') });
    try {
      const r = await runTpx(
        ['thingworx', 'check', '--thingworx-url', noCreate.restUrl, '--ca', noCreate.caFile, '--write-probe', '--json'],
        { env: { ...home.env, TPX_THINGWORX_APP_KEY: CONNECTOR_KEY } },
      );
      const doc = JSON.parse(r.stdout) as { items: { id: string; status: string; detail: string }[] };
      expect(doc.items.find((i) => i.id === 'create-thing')?.status).toBe('failed');
      const bind = doc.items.find((i) => i.id === 'alwayson-bind');
      expect(bind?.detail).toBe('No probe Thing to bind: creating it was refused (see CreateThing above).');
    } finally {
      await noCreate.close();
    }
  });

  it('--admin-key reads the policy and lists the sessions; neither key is printed', async () => {
    const r = await runTpx(
      ['thingworx', 'check', '--thingworx-url', good.restUrl, '--ca', good.caFile, '--admin-key', ADMIN_KEY, '--json'],
      { env: { ...home.env, TPX_THINGWORX_APP_KEY: CONNECTOR_KEY } },
    );
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { items: { id: string; status: string; method?: string; detail: string }[] };
    expect(doc.items.find((i) => i.id === 'bind-policy')).toMatchObject({ status: 'passed', method: /^read / });
    expect(doc.items.find((i) => i.id === 'ghost-sessions')).toMatchObject({
      status: 'passed',
      detail: 'No AlwaysOn session holds binds.',
    });
    expect(r.stdout + r.stderr).not.toContain(CONNECTOR_KEY);
    expect(r.stdout + r.stderr).not.toContain(ADMIN_KEY);
  });

  it('a failing item: human checklist with the fix, exit 3', async () => {
    const r = await runTpx(['thingworx', 'check', '--app-key', CONNECTOR_KEY], {
      env: { ...home.env, TPX_THINGWORX_URL: bad.restUrl, TPX_THINGWORX_CA: bad.caFile },
    });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(
      /✗ GetEntityList allowed\s+.*Not authorized for ServiceInvoke on GetEntityList in EntityServices/,
    );
    expect(r.stdout).toMatch(/fix: In Composer → Permissions → Entities → EntityServices .*add GetEntityList/);
    expect(r.stdout).toMatch(/✓ Host reachable/);
    expect(r.stderr).toMatch(/error: The ThingWorx check found 1 problem/);
    expect(r.stdout + r.stderr).not.toContain(CONNECTOR_KEY);
  });

  it('--json with a failure prints one document and exits 3', async () => {
    const r = await runTpx(['thingworx', 'check', '--json', '--thingworx-url', bad.restUrl, '--ca', bad.caFile], {
      env: { ...home.env, TPX_THINGWORX_APP_KEY: CONNECTOR_KEY },
    });
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout) as { ok: boolean; items: { id: string; status: string; fix?: string }[] };
    expect(doc.ok).toBe(false);
    expect(doc.items.find((i) => i.id === 'get-entity-list')).toMatchObject({ status: 'failed' });
  });

  it('missing settings and --fix without confirmation are usage errors (exit 2)', async () => {
    let r = await runTpx(['thingworx', 'check'], { env: home.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--thingworx-url|TPX_THINGWORX_URL/);
    r = await runTpx(['thingworx', 'check', '--fix', '--thingworx-url', good.restUrl, '--app-key', CONNECTOR_KEY], {
      env: home.env,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--yes/);
    r = await runTpx(
      ['thingworx', 'check', '--thingworx-url', good.restUrl, '--app-key', 'k', '--ca', '/nonexistent.pem'],
      {
        env: home.env,
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Cannot read the CA file/);
    r = await runTpx(['thingworx', 'check', '--thingworx-url', 'ftp://twx.example.com', '--app-key', 'k'], {
      env: home.env,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not an https:\/\/ URL/);
  });
});
