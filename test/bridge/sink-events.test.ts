/**
 * Issues 12.8 and 15.6: every event of the AlwaysOn pool reaches the bridge, is logged once with its cause (repeats
 * folded into one line per window) and counted in /metrics; a refused application key ends the retries.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AuthFailedError } from '../../src/alwayson/index.js';
import { type BridgeEventMap, type BridgeEventName, BridgeEvents, type BridgeOptions } from '../../src/bridge/index.js';
import { formatEvent } from '../../src/bridge/log.js';
import { FakeDirectory, FakeSink } from './fakes.js';
import { post, signedQuery, startTestBridge, uplinkDoc } from './helpers.js';

const DEV = '0018B20000000FAB';

describe('ThingWorx connection events in the bridge (issues 12.8, 15.6)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start(sink = new FakeSink(), over: Partial<BridgeOptions> = {}) {
    const directory = new FakeDirectory();
    directory.things.add(DEV);
    const events = new BridgeEvents();
    const seen: { name: BridgeEventName; payload: unknown }[] = [];
    events.onAny((name, payload) => seen.push({ name, payload }));
    const { bridge, stop } = await startTestBridge(cleanups, { events, repeatWindowMs: 50, ...over, sink, directory });
    return { bridge, sink, seen, stop };
  }

  const metric = async (bridge: { metrics: { metrics(): Promise<string> } }, line: string) =>
    (await bridge.metrics.metrics()).split('\n').find((l) => l.startsWith(line));

  it('folds 1,485 garbage frames, 296 text frames and 7,762 lost chunks into a few lines, and counts every one', async () => {
    const { bridge, sink, seen } = await start();
    await bridge.whenReady();
    const floods = { bad_message: 1485, text_frame: 296, incomplete_multipart: 7762 };
    const done = Object.keys(floods).map((cause) =>
      bridge.events.waitFor('protocol.error', (e) => e.cause === cause && e.count > 1),
    );
    for (const [cause, n] of Object.entries(floods)) {
      for (let i = 0; i < n; i++) sink.status({ type: 'protocol.error', pipe: 0, cause, error: `frame ${i} is bad` });
    }
    const folded = await Promise.all(done);
    expect(folded.map((e) => e.count)).toEqual([1484, 295, 7761]);
    const lines = seen.filter((e) => e.name === 'protocol.error');
    expect(lines.length).toBe(6); // the first of each at once, the rest in one line each
    const text = lines.map((l) => formatEvent('protocol.error', l.payload as BridgeEventMap['protocol.error'], 'text'));
    expect(text[0]).toMatch(
      /warn +ThingWorx pipe 0 dropped 1 binary frame\(s\) that are not AlwaysOn messages: frame 0/,
    );
    expect(text.some((t) => /dropped 7761 multipart message\(s\) that never completed \(last one\)/.test(t))).toBe(
      true,
    );
    expect(await metric(bridge, 'tpx_bridge_protocol_errors_total{cause="bad_message"}')).toMatch(/ 1485$/);
    expect(await metric(bridge, 'tpx_bridge_protocol_errors_total{cause="text_frame"}')).toMatch(/ 296$/);
    expect(await metric(bridge, 'tpx_bridge_protocol_errors_total{cause="incomplete_multipart"}')).toMatch(/ 7762$/);
  });

  it('logs each reconnect with its cause (HTTP 500 on upgrade, unanswered AUTH…), never a bare {pipe:0}', async () => {
    const { bridge, sink, seen } = await start();
    await bridge.whenReady();
    const causes = ['upgrade_refused', 'auth_timeout', 'frame_too_large', 'bad_frame'];
    const last = bridge.events.waitFor('sink.reconnect', (e) => e.cause === 'bad_frame');
    sink.status({ type: 'down', pipe: 0, cause: 'ping_timeout', error: 'ThingWorx said nothing for 5s' });
    for (const [i, cause] of causes.entries()) {
      sink.status({ type: 'reconnect', pipe: 0, cause, attempt: i + 1, delayMs: 300, error: `because ${cause}` });
    }
    await last;
    const text = seen
      .filter((e) => e.name === 'sink.reconnect' || e.name === 'pipe.down')
      .map((e) => formatEvent(e.name, e.payload as never, 'text'));
    expect(text[0]).toContain('ThingWorx pipe 0 down (ThingWorx went silent (no frame, no pong within the deadline))');
    expect(text[1]).toContain(
      'ThingWorx pipe 0 reconnecting in 300ms (attempt 1): ThingWorx refused the WebSocket upgrade',
    );
    expect(text[2]).toContain('did not answer AUTH');
    expect(text[3]).toContain('a frame larger than the limit');
    expect(text[4]).toContain('bytes that are not WebSocket frames');
    for (const cause of causes) {
      expect(await metric(bridge, `tpx_bridge_thingworx_failures_total{cause="${cause}"}`)).toMatch(/ 1$/);
    }
  });

  it('forwards every pool event: a sentence for each (no raw fields) and a counter', async () => {
    const { bridge, sink, seen } = await start();
    await bridge.whenReady();
    sink.status({ type: 'ping.timeout', pipe: 1, silentMs: 5003, deadlineMs: 5000 });
    sink.status({ type: 'thing.sync', pipe: 1, thing: DEV, service: 'NotifyPropertyUpdate' });
    sink.status({ type: 'platform.request', pipe: 1, method: 'GET', thing: DEV, name: 'x', code: 'NOT_FOUND' });
    sink.status({ type: 'bind.rejected', pipe: 1, names: ['A', 'B'], error: 'Binding failed' });
    sink.status({ type: 'warning', code: 'TPX_TLS_INSECURE', message: 'TLS verification is off' });
    sink.status({ type: 'warning', code: 'TPX_TLS_INSECURE', message: 'TLS verification is off' });
    const names = seen.map((e) => e.name);
    for (const n of ['ping.timeout', 'thing.sync', 'platform.request', 'bind.rejected', 'sink.warning'] as const) {
      expect(names).toContain(n);
      const e = seen.find((x) => x.name === n)!;
      const line = formatEvent(n, e.payload as never, 'text');
      expect(line, n).not.toMatch(/ \w+=/); // not the fallback "name key=value"
    }
    const warn = seen.find((x) => x.name === 'platform.request')!;
    expect(formatEvent('platform.request', warn.payload as never, 'text')).toMatch(/warn +ThingWorx GET/);
    expect(await metric(bridge, 'tpx_bridge_ping_timeouts_total')).toMatch(/ 1$/);
    expect(await metric(bridge, 'tpx_bridge_thing_syncs_total')).toMatch(/ 1$/);
    expect(await metric(bridge, 'tpx_bridge_platform_requests_total{code="NOT_FOUND"}')).toMatch(/ 1$/);
    expect(await metric(bridge, 'tpx_bridge_bind_rejected_total')).toMatch(/ 2$/);
    expect(await metric(bridge, 'tpx_bridge_thingworx_warnings_total{code="TPX_TLS_INSECURE"}')).toMatch(/ 1$/);
  });

  it('stops retrying when ThingWorx refuses the app key, and the stop does not claim delivery', async () => {
    const sink = new FakeSink();
    sink.startError = new AuthFailedError(0x81, 'key expired');
    const { bridge, seen, stop } = await start(sink);
    const err = await bridge.whenFailed();
    expect(err).toBeInstanceOf(AuthFailedError);
    const failed = seen.find((e) => e.name === 'bridge.failed')!.payload as BridgeEventMap['bridge.failed'];
    expect(failed).toMatchObject({ code: 'TPX_AUTH_FAILED', cause: 'auth_refused' });
    expect(formatEvent('bridge.failed', failed, 'text')).toMatch(
      /error +giving up on ThingWorx \(TPX_AUTH_FAILED\): .*key expired/,
    );
    const ready = await fetch(`${bridge.url}/readyz`);
    expect(ready.status).toBe(503);
    // reports accepted meanwhile stay in the spool
    const doc = uplinkDoc(DEV, 1);
    expect([200, 202]).toContain((await post(bridge.url, doc, { query: signedQuery(doc) })).status);
    await stop();
    expect(sink.starts).toBe(1);
    const stopped = seen.find((e) => e.name === 'bridge.stopped')!.payload as BridgeEventMap['bridge.stopped'];
    expect(stopped).toMatchObject({ connected: false, pending: 1 });
    const line = formatEvent('bridge.stopped', stopped, 'text');
    expect(line).toContain('stopped: never connected to ThingWorx; 1 report(s) kept in the spool');
    expect(line).not.toMatch(/delivered/);
  });

  it('ThingWorx reached but the start-up never finished (a missing template): the stop says so, not "never connected"', async () => {
    const directory = new FakeDirectory();
    let listed: () => void = () => undefined;
    const listing = new Promise<void>((r) => {
      listed = r;
    });
    directory.list = async () => {
      listed();
      throw new Error('The Thing Template T does not exist in ThingWorx.');
    };
    const events = new BridgeEvents();
    const seen: { name: BridgeEventName; payload: unknown }[] = [];
    events.onAny((name, payload) => seen.push({ name, payload }));
    const { stop } = await startTestBridge(cleanups, { events, repeatWindowMs: 50, sink: new FakeSink(), directory });
    await listing;
    await stop();
    const stopped = seen.find((e) => e.name === 'bridge.stopped')!.payload as BridgeEventMap['bridge.stopped'];
    expect(stopped).toMatchObject({ connected: true, ready: false });
    expect(formatEvent('bridge.stopped', stopped, 'text')).toContain(
      'stopped: never ready (ThingWorx was reached, its start-up did not finish); nothing left in the spool',
    );
  });

  it('a platform unreachable at start: one error line per cause and window, every attempt counted', async () => {
    let fourth: () => void = () => undefined;
    const threeFailed = new Promise<void>((r) => {
      fourth = r;
    });
    class RefusedSink extends FakeSink {
      override async start(): Promise<void> {
        if (this.starts === 3) fourth(); // three attempts failed and were reported
        return super.start();
      }
      causeOf(): string {
        return 'connect_refused';
      }
    }
    const sink = new RefusedSink();
    sink.startError = new Error('connect ECONNREFUSED 127.0.0.1:1');
    // a window longer than the test: only the stop ends it (Repeats.flush)
    const { bridge, seen, stop } = await start(sink, { repeatWindowMs: 600_000 });
    await threeFailed;
    const errors = () => seen.filter((e) => e.name === 'error').map((e) => e.payload as BridgeEventMap['error']);
    expect(errors()).toHaveLength(1);
    expect(errors()[0]).toMatchObject({ where: 'thingworx', cause: 'connect_refused' });
    expect(errors()[0]!.count).toBeUndefined();
    await stop();
    // every attempt reported (an attempt failing after the stop is not) is counted, folded or not
    const counted = Number(
      (await metric(bridge, 'tpx_bridge_thingworx_failures_total{cause="connect_refused"}'))?.split(' ')[1],
    );
    expect(counted).toBeGreaterThanOrEqual(3);
    expect(errors()).toHaveLength(2);
    expect(errors()[1]).toMatchObject({ cause: 'connect_refused', count: counted - 1 });
    expect(formatEvent('error', errors()[1]!, 'text')).toMatch(
      new RegExp(
        `info +thingworx: connect ECONNREFUSED .*; ${counted - 1} attempts failed the same way since the last line$`,
      ),
    );
  });

  it('several pipes lost in one outage: one warning (the first pipe), the others info; a pipe back starts afresh', async () => {
    const { bridge, sink, seen } = await start();
    await bridge.whenReady();
    const down = (pipe: number, cause: string) =>
      sink.status({ type: 'down', pipe, cause, error: `lost (${cause})` } as never);
    down(0, 'ping_timeout');
    down(1, 'ping_timeout');
    down(2, 'closed_by_platform');
    down(3, 'ping_timeout');
    sink.status({ type: 'up', pipe: 0 });
    sink.status({ type: 'up', pipe: 1 });
    sink.status({ type: 'up', pipe: 3 });
    down(1, 'ping_timeout'); // a new outage of that pipe: pipe 2 is down for another cause
    const lines = seen
      .filter((e) => e.name === 'pipe.down')
      .map((e) => formatEvent('pipe.down', e.payload as BridgeEventMap['pipe.down'], 'text').slice(25));
    expect(lines).toEqual([
      'warn  ThingWorx pipe 0 down (ThingWorx went silent (no frame, no pong within the deadline)): lost (ping_timeout)',
      'info  ThingWorx pipe 1 down (ThingWorx went silent (no frame, no pong within the deadline)): lost (ping_timeout); 1 other pipe(s) already down for the same cause',
      'warn  ThingWorx pipe 2 down (ThingWorx closed the socket): lost (closed_by_platform)',
      'info  ThingWorx pipe 3 down (ThingWorx went silent (no frame, no pong within the deadline)): lost (ping_timeout); 2 other pipe(s) already down for the same cause',
      'warn  ThingWorx pipe 1 down (ThingWorx went silent (no frame, no pong within the deadline)): lost (ping_timeout)',
    ]);
    expect(await metric(bridge, 'tpx_bridge_pipe_down_total')).toMatch(/ 5$/);
  });

  it('gives up too when the key is refused on a reconnect after having been connected', async () => {
    const { bridge, sink } = await start();
    await bridge.whenReady();
    sink.connected = false;
    sink.status({ type: 'failed', pipe: 0, error: new AuthFailedError(0x81, 'revoked'), cause: 'auth_refused' });
    expect(((await bridge.whenFailed()) as AuthFailedError).code).toBe('TPX_AUTH_FAILED');
    expect(await metric(bridge, 'tpx_bridge_failed_total{cause="auth_refused"}')).toMatch(/ 1$/);
  });
});
