import { afterEach, describe, expect, it } from 'vitest';
import type { BridgeEventMap, BridgeEventName } from '../../src/bridge/index.js';
import { eventLevel, formatEvent } from '../../src/bridge/log.js';
import { post, uplinkDoc } from './helpers.js';
import { relayedBridge } from './relay.js';

const DEV = '70B3D57ED0000009';

describe('a frozen ThingWorx (issue 12.9)', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A bridge connected through a relay to an emulated ThingWorx; `lines` gathers its text log lines, by level. */
  async function start() {
    const { relay: r, bridge } = await relayedBridge(cleanups, [DEV], { pingDeadlineMs: 400 });
    const lines: { level: string; text: string }[] = [];
    bridge.events.onAny(<K extends BridgeEventName>(name: K, payload: BridgeEventMap[K]) =>
      lines.push({ level: eventLevel(name, payload), text: formatEvent(name, payload, 'text') }),
    );
    await bridge.whenReady();
    return { r, bridge, lines, warnings: () => lines.filter((l) => l.level === 'warn').map((l) => l.text) };
  }

  it('one freeze is one warning (pipe.down, with its cause): the ping timeout, the reconnects and the push failed in it are not', async () => {
    const { r, bridge, lines, warnings } = await start();
    lines.length = 0;
    const failing = bridge.events.waitFor('push.failing');
    const reconnect = bridge.events.waitFor('sink.reconnect');
    r.freeze();
    // pushed while the platform is frozen, before the deadline: in flight when the pipe is dropped
    expect((await post(bridge.url, uplinkDoc(DEV, 1), { query: '' })).status).toBe(202);
    const f = await failing;
    await reconnect;
    expect(f).toMatchObject({ cause: 'ping_timeout', count: 1, outage: true });
    expect(warnings(), lines.map((l) => l.text).join('\n')).toHaveLength(1);
    expect(warnings()[0]).toMatch(/warn +ThingWorx pipe 0 down \(ThingWorx went silent .*: ThingWorx said nothing for/);
    // still said, below warning: the reconnect and the pushes failing (info), the ping timeout (debug)
    const levelOf = (re: RegExp) => lines.find((l) => re.test(l.text))?.level;
    expect(levelOf(/reconnecting in .* \(attempt 1\)/)).toBe('info');
    expect(levelOf(/pushes failing: push to 70B3D57ED0000009 failed/)).toBe('info');
    expect(levelOf(/not even a pong .*; reconnecting$/)).toBe('debug');
    const metrics = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(metrics).toMatch(/tpx_bridge_ping_timeouts_total 1/);
    expect(metrics).toMatch(/tpx_bridge_push_failures_total 1/);
    // the reconnect's opening lost its first bytes to the freeze: end it now, not at its time limit (a fast stop)
    r.kill();
  });

  it('a killed platform is one warning too: the refused reconnects are info lines, folded by cause', async () => {
    const { r, bridge, lines, warnings } = await start();
    lines.length = 0;
    const refused = bridge.events.waitFor('sink.reconnect', (e) => e.cause === 'connect_refused');
    r.kill();
    await refused;
    expect(warnings(), lines.map((l) => l.text).join('\n')).toHaveLength(1);
    expect(warnings()[0]).toMatch(/warn +ThingWorx pipe 0 down/);
    expect(lines.find((l) => /reconnecting .*the connection could not be opened/.test(l.text))?.level).toBe('info');
    const up = bridge.events.waitFor('pipe.up');
    await r.revive();
    await up;
    expect(warnings()).toHaveLength(1);
  });

  it('is noticed within the ping deadline: pipe dropped, /readyz not ready; ready again once it answers', async () => {
    const { relay: r, bridge } = await relayedBridge(cleanups, [DEV], { pingDeadlineMs: 400 });
    await bridge.whenReady();
    expect((await fetch(`${bridge.url}/readyz`)).status).toBe(200);

    const timeout = bridge.events.waitFor('ping.timeout');
    const down = bridge.events.waitFor('pipe.down');
    r.freeze();
    const t1 = await timeout;
    expect(t1.deadlineMs).toBe(400);
    expect((await down).cause).toBe('ping_timeout');
    expect(bridge.stats().connected).toBe(false);
    const ready = await fetch(`${bridge.url}/readyz`);
    expect(ready.status).toBe(503);

    const up = bridge.events.waitFor('pipe.up');
    r.thaw();
    await up;
    expect((await fetch(`${bridge.url}/readyz`)).status).toBe(200);
  });
});
