import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AlwaysOnClient } from '../../src/alwayson/client.js';
import { sayReport } from '../../src/cli/commands/thingworx-check.js';
import { startThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { runThingWorxChecks } from '../../src/thingworx/check.js';
import { checkTransport } from '../../src/thingworx/check-transport.js';
import { CHECK_ITEMS, type GhostSession } from '../../src/thingworx/check-types.js';
import { ADMIN_KEY, CONNECTOR_KEY, exampleState, fullySetUp, SCENARIOS, stateFile } from './scenario-states.js';

async function check(
  state: NonNullable<Parameters<typeof startThingWorxEmulator>[0]>['state'],
  o: {
    key?: string;
    adminKey?: string;
    /** Runs once the emulator is up, before the check (e.g. to open a live session). */
    before?: (emu: Awaited<ReturnType<typeof startThingWorxEmulator>>) => Promise<(() => Promise<void>) | undefined>;
    writeProbe?: boolean;
    confirm?: (s: GhostSession[]) => Promise<boolean>;
    url?: (u: string) => string;
  } = {},
) {
  const emu = await startThingWorxEmulator({ state });
  let after: (() => Promise<void>) | undefined;
  try {
    after = await o.before?.(emu);
    const raw = await runThingWorxChecks({
      url: o.url ? o.url(emu.restUrl) : emu.restUrl,
      appKey: o.key ?? emu.appKey,
      ...(o.adminKey ? { adminKey: o.adminKey } : {}),
      ...(emu.caFile ? { ca: readFileSync(emu.caFile) } : {}),
      writeProbe: o.writeProbe ?? true,
      timeoutMs: 5000,
      ...(o.confirm ? { confirmCloseGhosts: o.confirm } : {}),
    });
    // The words the CLI prints (src/cli words the phrases); raw is the data the library returns.
    const report = sayReport(raw);
    return {
      raw,
      report,
      things: emu.state().things ?? [],
      templates: (emu.state().templates ?? []).map((t) => t.name),
    };
  } finally {
    await after?.();
    await emu.close();
  }
}

describe('runThingWorxChecks against the emulator', () => {
  it('a fully set-up platform passes every item it can decide, and the probes leave nothing behind', async () => {
    const state = fullySetUp();
    const { report, things, templates } = await check(state);
    const byId = Object.fromEntries(report.items.map((i) => [i.id, i]));
    expect(report.items.map((i) => i.id)).toEqual(Object.keys(CHECK_ITEMS));
    expect(report.ok).toBe(true);
    for (const id of Object.keys(CHECK_ITEMS)) {
      // a non-admin key may not list sessions; no ThingPark settings: no hosted connection looked for
      if (id === 'ghost-sessions' || id === 'connectors' || id === 'hosted-connection') continue;
      expect(byId[id], `${id}: ${byId[id]?.detail}`).toMatchObject({ status: 'passed' });
    }
    expect(byId['ghost-sessions']).toMatchObject({ status: 'skipped', detail: /administrator key/ });
    expect(byId.connectors).toMatchObject({ status: 'skipped' });
    expect(byId['hosted-connection']).toMatchObject({ status: 'skipped' });
    expect(byId['bind-policy']).toMatchObject({
      method: 'double bind of the probe Thing',
      data: { policy: 'last-in-wins' },
    });
    expect(byId['key-expiry']!.detail).toMatch(/tpx-connector-key expires on 2099-01-01/);
    expect(byId.tls!.detail).toMatch(/^TLSv1\.[23], certificate valid until/);
    expect(things).toEqual([]);
    expect(templates).toEqual(['actilityThingTemplateSF']);
  });

  it('without --write-probe creates nothing: permission services and probes that must fail decide', async () => {
    const { report, things, templates } = await check(fullySetUp(), { writeProbe: false });
    const byId = Object.fromEntries(report.items.map((i) => [i.id, i]));
    expect(report.ok).toBe(true);
    expect(byId['create-thing']).toMatchObject({
      status: 'passed',
      method: 'probe + GetDesignTimeCollectionPermissions',
    });
    expect(byId['alwayson-auth']!.status).toBe('passed');
    expect(byId['alwayson-bind']).toMatchObject({ status: 'skipped', detail: /--write-probe/ });
    expect(things).toEqual([]);
    expect(templates).toEqual(['actilityThingTemplateSF']);
  });

  for (const [name, sc] of Object.entries(SCENARIOS)) {
    it(`scenario ${name}.json: ${sc.item} ${sc.status} with the guide's fix`, async () => {
      const { report, things } = await check(stateFile(name));
      const it = report.items.find((i) => i.id === sc.item)!;
      expect(it.status, it.detail).toBe(sc.status);
      expect(it.fix).toMatch(sc.fix);
      if (sc.detail) expect(it.detail).toMatch(sc.detail);
      expect(report.ok).toBe(sc.status !== 'failed');
      // probes never leave anything behind, whatever failed
      expect(things.filter((t) => t.name.startsWith('tpx-probe'))).toEqual([]);
    });
  }

  it('https:// to a plain-HTTP port fails TLS and sends no key', async () => {
    const { report } = await check(stateFile('plain-http'), { url: (u) => u.replace('http:', 'https:') });
    const tls = report.items.find((i) => i.id === 'tls')!;
    expect(tls).toMatchObject({ status: 'failed', detail: /does not speak TLS/ });
    expect(report.items.find((i) => i.id === 'app-key')).toMatchObject({ status: 'skipped' });
  });

  it('an expired key is named as such when the platform tells the expiry', async () => {
    const { report } = await check(stateFile('expired-key'));
    expect(report.items.find((i) => i.id === 'key-expiry')).toMatchObject({ status: 'skipped' });
    expect(report.items.find((i) => i.id === 'app-key')!.detail).toMatch(/rejected the application key/);
  });

  it('First in wins with a ghost: --fix closes the ghost sessions after confirmation', async () => {
    let asked: GhostSession[] = [];
    const { report } = await check(stateFile('first-in-wins-ghost'), {
      confirm: async (s) => {
        asked = s;
        return true;
      },
    });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ appKeyName: 'tpx-connector-key', numberBoundThings: 2 });
    expect(asked[0]!.boundThings!.sort()).toEqual(['0018B20000000B20', '0018B20000000B21']);
    expect(report.items.find((i) => i.id === 'ghost-sessions')).toMatchObject({
      status: 'passed',
      detail: /Closed 1 session/,
    });
    expect(report.items.find((i) => i.id === 'bind-policy')).toMatchObject({ status: 'warned', fix: /Last in wins/ });
  });

  it('First in wins with a ghost, checked with the connector key: the double bind shows the policy', async () => {
    const state = exampleState('first-in-wins-ghost');
    const { report } = await check(state, { key: CONNECTOR_KEY });
    expect(report.items.find((i) => i.id === 'bind-policy')).toMatchObject({
      status: 'warned',
      method: 'double bind of the probe Thing',
      fix: /Last in wins/,
    });
    expect(report.items.find((i) => i.id === 'ghost-sessions')).toMatchObject({ status: 'skipped' });
  });

  it("the connector key with an administrator's key: the policy is read, and only the connector key's ghosts count", async () => {
    let closed: GhostSession[] = [];
    const { report } = await check(stateFile('first-in-wins-ghost'), {
      key: CONNECTOR_KEY,
      adminKey: ADMIN_KEY,
      before: async (emu) => {
        emu.faults.ghostSession(['SomeoneElses'], 'admin-key'); // another key's session: not this connector's business
        return undefined;
      },
      confirm: async (s) => {
        closed = s;
        return false;
      },
    });
    const byId = Object.fromEntries(report.items.map((i) => [i.id, i]));
    expect(byId['bind-policy']).toMatchObject({
      status: 'warned',
      method: /^read /,
      data: { policy: 'first-in-wins' },
    });
    expect(byId['ghost-sessions']).toMatchObject({
      status: 'failed',
      detail: /^1 AlwaysOn session\(s\) of key tpx-connector-key hold binds on 2 Thing\(s\) without a connection/,
      fix: /tpx thingworx check --admin-key <administrator key> --fix/,
    });
    expect(closed.map((g) => g.appKeyName)).toEqual(['tpx-connector-key']);
    expect(JSON.stringify(report)).not.toContain(ADMIN_KEY);
  });

  it('an administrator key that does not work is named in the fixes of the items it was for', async () => {
    const { raw, report } = await check(fullySetUp(), {
      key: CONNECTOR_KEY,
      adminKey: 'not-a-key',
      writeProbe: false,
    });
    // The library returns data: which setting and what to do; only the CLI names the flag and variable.
    expect(raw.items.find((i) => i.id === 'bind-policy')).toMatchObject({
      fix: { id: 'admin-key-invalid', what: 'policy' },
      data: { setting: 'thingworxAdminKey' },
    });
    expect(JSON.stringify(raw)).not.toMatch(/--[a-z]|TPX_[A-Z]/);
    expect(report.items.find((i) => i.id === 'bind-policy')).toMatchObject({
      status: 'skipped',
      fix: /--admin-key .*TPX_THINGWORX_ADMIN_KEY/,
    });
    expect(report.items.find((i) => i.id === 'ghost-sessions')).toMatchObject({
      status: 'skipped',
      fix: /administrator key \(--admin-key or TPX_THINGWORX_ADMIN_KEY\) is valid/,
    });
  });

  it('a connected session (a running bridge) is not a ghost', async () => {
    const state = fullySetUp();
    state.things = [{ name: 'LiveDevice', template: 'actilityThingTemplateSF' }];
    const { report } = await check(state, {
      key: CONNECTOR_KEY,
      adminKey: ADMIN_KEY,
      writeProbe: false,
      before: async (emu) => {
        const live = new AlwaysOnClient({ url: emu.wsUrl, appKey: CONNECTOR_KEY, ca: readFileSync(emu.caFile!) });
        await live.start();
        await live.bind(['LiveDevice']);
        return () => live.close();
      },
    });
    expect(report.items.find((i) => i.id === 'ghost-sessions')).toMatchObject({
      status: 'passed',
      detail: /^No ghost session; 1 connected session\(s\) of key tpx-connector-key bind 1 Thing\(s\)/,
    });
    expect(report.items.find((i) => i.id === 'bind-policy')).toMatchObject({ status: 'passed', method: /^read / });
  });

  it('declining the confirmation closes nothing', async () => {
    const { report } = await check(stateFile('first-in-wins-ghost'), { confirm: async () => false });
    expect(report.items.find((i) => i.id === 'ghost-sessions')!.status).toBe('failed');
  });

  it('an untrusted certificate fails TLS and sends no key; --insecure warns and goes on', async () => {
    const emu = await startThingWorxEmulator({ state: fullySetUp() });
    try {
      let report = sayReport(await runThingWorxChecks({ url: emu.restUrl, appKey: CONNECTOR_KEY, timeoutMs: 5000 }));
      expect(report.items.find((i) => i.id === 'tls')).toMatchObject({
        status: 'failed',
        fix: /--ca or TPX_THINGWORX_CA/,
      });
      expect(report.items.find((i) => i.id === 'app-key')).toMatchObject({
        status: 'skipped',
        detail: /unverified server/,
      });
      report = sayReport(
        await runThingWorxChecks({ url: emu.restUrl, appKey: CONNECTOR_KEY, insecure: true, timeoutMs: 5000 }),
      );
      expect(report.items.find((i) => i.id === 'tls')).toMatchObject({ status: 'warned', detail: /NOT verified/ });
      expect(report.items.find((i) => i.id === 'alwayson-auth')!.status).toBe('passed');
      expect(report.ok).toBe(true);
    } finally {
      await emu.close();
    }
  });

  it('a template not based on RemoteThing fails the template and the probe BIND', async () => {
    const state = fullySetUp();
    state.templates![0]!.base = 'GenericThing';
    const { report, things } = await check(state);
    expect(report.items.find((i) => i.id === 'template')).toMatchObject({
      status: 'failed',
      detail: /based on GenericThing/,
    });
    expect(report.items.find((i) => i.id === 'alwayson-bind')).toMatchObject({ status: 'failed', fix: /RemoteThing/ });
    expect(things).toEqual([]);
  });

  it('a stop request skips the remaining items and still deletes the probe Thing', async () => {
    const emu = await startThingWorxEmulator({ state: fullySetUp() });
    try {
      const stop = new AbortController();
      const report = await runThingWorxChecks({
        url: emu.restUrl,
        appKey: CONNECTOR_KEY,
        ca: readFileSync(emu.caFile),
        writeProbe: true,
        signal: stop.signal,
        onItem: (i) => {
          if (i.id === 'create-thing') stop.abort();
        },
      });
      expect(report.items.find((i) => i.id === 'create-thing')!.status).toBe('passed');
      expect(report.items.find((i) => i.id === 'alwayson-auth')).toMatchObject({
        status: 'skipped',
        detail: /stopped/,
      });
      expect(report.items).toHaveLength(Object.keys(CHECK_ITEMS).length);
      expect(emu.state().things ?? []).toEqual([]);
    } finally {
      await emu.close();
    }
  });

  it('a key expiring within two weeks warns with the expiry fix', async () => {
    const state = fullySetUp();
    state.appKeys![0]!.expiresAt = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const { report } = await check(state, { key: CONNECTOR_KEY, writeProbe: false });
    expect(report.items.find((i) => i.id === 'key-expiry')).toMatchObject({
      status: 'warned',
      detail: /expires on .* \(2 days\)/,
      fix: /Expiration Date in the future/,
    });
  });

  it('an unreachable host fails the first item and skips the rest', async () => {
    const emu = await startThingWorxEmulator({ state: fullySetUp() });
    const url = emu.restUrl;
    await emu.close();
    const report = await runThingWorxChecks({ url, appKey: CONNECTOR_KEY, timeoutMs: 2000 });
    expect(report.items[0]).toMatchObject({ id: 'reachable', status: 'failed' });
    expect(report.items.slice(1).every((i) => i.status === 'skipped')).toBe(true);
  });
});

describe('checkTransport', () => {
  it('a platform that accepts the connection and then says nothing is not a TLS set-up problem', async () => {
    // A frozen ThingWorx (SIGSTOP): the kernel accepts the TCP connection, nothing answers the TLS hello.
    const sockets: Socket[] = [];
    const server = createServer((s) => sockets.push(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const r = await checkTransport(new URL(`https://127.0.0.1:${port}`), { timeoutMs: 300, now: new Date() });
      const tls = r.items.find((i) => i.id === 'tls');
      expect(tls).toMatchObject({ status: 'failed' });
      expect(tls!.detail).toBe(
        `127.0.0.1:${port} accepted the connection but did not answer the TLS handshake within 300ms.`,
      );
      expect(String(tls!.fix)).not.toMatch(/SSL\/TLS enabled/);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});
