/**
 * Issue 12.9: a frozen ThingWorx (process stopped, TCP still open: nothing comes back, not even a pong) is noticed
 * within the ping deadline: the pipe is dropped, /readyz says not ready, and the bridge is back once it answers.
 * The freeze is a TCP relay in front of the emulator that stops passing bytes, as SIGSTOP does to the platform.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startConnectedBridge } from '../../src/bridge/index.js';
import { startThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { TEMPLATE, templateState } from './emulated.js';
import { tempDir } from './helpers.js';
import { relay } from './relay.js';

const DEV = '70B3D57ED0000009';

describe('a frozen ThingWorx (issue 12.9)', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('is noticed within the ping deadline: pipe dropped, /readyz not ready; ready again once it answers', async () => {
    const twx = await startThingWorxEmulator({ state: templateState([DEV]) });
    cleanups.push(() => twx.close());
    const r = await relay(twx.port);
    cleanups.push(r.close);
    const t = tempDir();
    cleanups.push(t.cleanup);
    const bridge = await startConnectedBridge({
      listen: '127.0.0.1:0',
      spoolDir: t.dir,
      thingworxUrl: r.url,
      appKey: twx.appKey,
      ca: readFileSync(twx.caFile, 'utf8'),
      template: TEMPLATE,
      verifyTokens: false,
      pingDeadlineMs: 400,
    });
    cleanups.push(() => bridge.stop({ drainTimeoutMs: 0 }));
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
