/**
 * Issue 18: several bridges, one fleet. Three `tpx bridge --queue` processes share a RabbitMQ fleet (consistent-hash
 * exchange -> quorum queues with single active consumer) in front of the in-process ThingWorx emulator, while
 * signed uplinks of 200 devices go round robin over their ingests; meanwhile one bridge is killed (-9), one paused
 * (SIGSTOP, then SIGCONT once its queues moved) and one stopped (SIGTERM) and started again.
 *
 * Needs a broker: TPX_TEST_AMQP (default amqp://guest:guest@127.0.0.1:5672/) with the consistent-hash exchange
 * plugin. Skipped, saying why, when none answers; in CI (CI=true, .ci/run) a missing broker fails the test.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { fleetOwnerOf, readHeartbeats } from '../../src/bridge/fleet/heartbeat.js';
import type { FleetStatus } from '../../src/bridge/fleet/queue.js';
import { fleetNames } from '../../src/bridge/fleet/types.js';
import { signUplink } from '../../src/thingpark/tunnel.js';
import { type BridgeProcess, startBridgeProcess, type World, world } from '../cli/bridge-helpers.js';

const AMQP = process.env.TPX_TEST_AMQP ?? 'amqp://guest:guest@127.0.0.1:5672/';

async function brokerProblem(): Promise<string | undefined> {
  try {
    const amqp = await import('amqplib');
    const c = await amqp.connect(AMQP, { timeout: 2000 });
    await c.close();
    return undefined;
  } catch (err) {
    return `no RabbitMQ broker answers at ${AMQP.replace(/:[^:@/]*@/, ':***@')}: ${(err as Error).message}`;
  }
}

const problem = await brokerProblem();
if (problem && process.env.CI) throw new Error(`${problem} (CI needs it: .ci/run starts the plugin)`);
if (problem) console.warn(`fleet tests skipped: ${problem}`);

const DEVICES = 200;
const QUEUES = 8;
const PER_DEVICE_MIN = 3;

const devEui = (i: number) => `70B3D57EF0${i.toString(16).toUpperCase().padStart(6, '0')}`;

function uplink(dev: string, fcnt: number) {
  return {
    DevEUI_uplink: {
      Time: new Date().toISOString().replace('Z', '+00:00'),
      DevEUI: dev,
      FPort: 2,
      FCntUp: fcnt,
      payload_hex: `00${(fcnt & 0xff).toString(16).padStart(2, '0')}`,
      LrrRSSI: -60,
      LrrSNR: 9,
      SpFact: 7,
      CustomerID: '100000507',
      Late: 0,
    },
  };
}

describe.skipIf(problem !== undefined)(`fleet of bridges on RabbitMQ${problem ? ` (skipped: ${problem})` : ''}`, () => {
  const prefix = `tpxtest-${randomUUID().slice(0, 8)}`;
  let w: World | undefined;
  const procs: BridgeProcess[] = [];

  afterAll(async () => {
    for (const p of procs) {
      p.proc.child.kill('SIGCONT');
      await p.proc.kill('SIGKILL');
    }
    await w?.close();
    const amqp = await import('amqplib');
    const c = await amqp.connect(AMQP);
    const ch = await c.createChannel();
    for (let i = 0; i < QUEUES; i++) await ch.deleteQueue(`${prefix}.q.${String(i).padStart(3, '0')}`);
    await ch.deleteQueue(`${prefix}.dead`);
    await ch.deleteExchange(`${prefix}.uplinks`);
    await ch.deleteExchange(`${prefix}.status`);
    await c.close();
  });

  it('loses no acknowledged uplink, keeps per-device order and one binder per Thing through kill -9, STOP/CONT and a restart', async () => {
    const names = Array.from({ length: DEVICES }, (_, i) => devEui(i));
    w = await world(names);
    const twx = w.twx;
    twx.setBindPolicy('last-in-wins');

    // ---- what ThingWorx saw: binds per session, pushes with their FCntUp ----
    const holder = new Map<string, number>();
    const pushes = new Map<string, number[]>();
    const pushSessions = new Map<string, string[]>();
    const wrongSession: string[] = [];
    let ackedCount = 0;
    const takeovers: { thing: string; from: number; rebound: boolean }[] = [];
    // Things the paused bridge bound once it was back (connected again after its fence): never to be taken from it
    let b1Back: number | undefined;
    const boundByB1Back = new Set<string>();
    let rejectedBinds = 0;
    const sessions: number[] = [];
    twx.events.on('connection', (e: { sessionId: number }) => sessions.push(e.sessionId));
    twx.events.on('bind', (e: { sessionId: number; names: string[] }) => {
      for (const n of e.names) holder.set(n, e.sessionId);
      if (e.sessionId === b1Back) for (const n of e.names) boundByB1Back.add(n);
    });
    twx.events.on('bindRejected', () => {
      rejectedBinds += 1;
    });
    let takeoverWaiter: ((from: number) => void) | undefined;
    twx.events.on('unbind', (e: { sessionId: number; names: string[]; reason: string }) => {
      for (const n of e.names) {
        if (e.reason === 'takeover') {
          takeovers.push({ thing: n, from: e.sessionId, rebound: e.sessionId === b1Back && boundByB1Back.has(n) });
          takeoverWaiter?.(e.sessionId);
        } else if (holder.get(n) === e.sessionId) holder.delete(n);
      }
    });
    let pushCount = 0;
    let pushWaiter: (() => void) | undefined;
    twx.events.on('push', (e: { sessionId: number; thing: string; values: { name: string; value: unknown }[] }) => {
      const f = e.values.find((v) => v.name === 'FCntUp');
      if (!f) return;
      if (holder.get(e.thing) !== e.sessionId) wrongSession.push(`${e.thing} FCntUp ${f.value} on ${e.sessionId}`);
      const l = pushes.get(e.thing) ?? [];
      pushes.set(e.thing, l);
      l.push(Number(f.value));
      const sl = pushSessions.get(e.thing) ?? [];
      pushSessions.set(e.thing, sl);
      sl.push(`${f.value}@${e.sessionId}:${Date.now() % 100000}`);
      pushCount += 1;
      pushWaiter?.();
    });

    // ---- the bridges (started one after the other: each one's ThingWorx session is known) ----
    const world_ = w;
    const start = async (id: string) => {
      const before = sessions.length;
      const b = await startBridgeProcess(world_, [
        '--queue',
        AMQP,
        '--fleet-queues',
        String(QUEUES),
        '--fleet-prefix',
        prefix,
        '--bridge-id',
        id,
        '--fleet-heartbeat',
        '1s',
        '--drain-timeout',
        '5s',
      ]);
      procs.push(b);
      await b.event('bridge.ready');
      await b.event('fleet.connected');
      const session = sessions[before]!;
      expect(session).toBeDefined();
      return { id, b, session };
    };
    const b0 = await start('b0');
    const b1 = await start('b1');
    let b2 = await start('b2');
    const firstB2 = b2.session;
    const faultTimes: Record<string, number> = {};
    const live = new Set([b0, b1, b2]);

    // ---- the sender: per device in order, round robin over the live ingests, retried until a 2xx ----
    const acked = new Map<string, number[]>();
    let faultsDone = false;
    const ackWaiters: { n: number; resolve: () => void }[] = [];
    const post = async (dev: string, fcnt: number, turn: number) => {
      const doc = uplink(dev, fcnt);
      const q = signUplink(doc, { asId: world_.tp.asId, asKey: world_.tp.asKey }).queryString;
      for (let attempt = 0; ; attempt++) {
        const ingests = [...live];
        const target = ingests[(turn + attempt) % ingests.length]!;
        try {
          const res = await fetch(`${target.b.url}?${q}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(doc),
            signal: AbortSignal.timeout(2000),
          });
          await res.text();
          if (res.status === 200 || res.status === 202) return;
        } catch {
          // refused (killed), reset, or a paused bridge's timeout: ThingPark retries elsewhere
        }
        if (attempt > 200) throw new Error(`uplink ${dev} ${fcnt} never acknowledged`);
      }
    };
    const worker = async (w0: number) => {
      const mine = names.filter((_, i) => i % 50 === w0);
      for (let fcnt = 1; !faultsDone || fcnt <= PER_DEVICE_MIN; fcnt++) {
        for (const [k, dev] of mine.entries()) {
          await post(dev, fcnt, fcnt + k + w0);
          const l = acked.get(dev) ?? [];
          acked.set(dev, l);
          l.push(fcnt);
          ackedCount += 1;
          for (let i = ackWaiters.length - 1; i >= 0; i--) {
            if (ackedCount >= ackWaiters[i]!.n) ackWaiters.splice(i, 1)[0]!.resolve();
          }
        }
      }
    };
    const untilAcked = (n: number) =>
      ackedCount >= n ? Promise.resolve() : new Promise<void>((resolve) => ackWaiters.push({ n, resolve }));
    const sending = Promise.all(Array.from({ length: 50 }, (_, i) => worker(i)));

    // ---- faults ----
    await untilAcked(200);
    live.delete(b0);
    faultTimes.kill = Date.now() % 100000;
    await b0.b.proc.kill('SIGKILL');

    await untilAcked(400);
    // b1's queues just before it is paused, then the moment one of them moved to b2 (the broker dropped b1)
    const owned = (b: BridgeProcess) => {
      const s = new Set<string>();
      for (const e of b.events()) {
        if (e.event === 'fleet.acquired') s.add(String(e.queue));
        else if (e.event === 'fleet.released') s.delete(String(e.queue));
        else if (e.event === 'fleet.fenced') s.clear();
      }
      return s;
    };
    live.delete(b1);
    faultTimes.stop = Date.now() % 100000;
    b1.b.proc.child.kill('SIGSTOP');
    // what b1 says from here on is about the pause (a connection it lost before, under load, was fenced then)
    const b1Before = b1.b.events().length;
    const b1Queues = owned(b1.b);
    const acquiredBefore = b2.b.events().length;
    await b2.b.event(
      'fleet.acquired',
      (e) => b1Queues.has(String(e.queue)) && b2.b.events().indexOf(e) >= acquiredBefore,
    );
    // the new owner binds a Thing the paused bridge still holds: "Last in wins" moves the binding (one binder)
    // (a guard: when the moved queues held no Thing bound by b1 yet, there is nothing to take over)
    const tookOver = await new Promise<boolean>((resolve) => {
      const guard = setTimeout(() => resolve(false), 6_000);
      takeoverWaiter = (from) => {
        if (from !== b1.session) return;
        clearTimeout(guard);
        resolve(true);
      };
    });
    takeoverWaiter = undefined;
    faultTimes.cont = Date.now() % 100000;
    b1.b.proc.child.kill('SIGCONT');
    const fenced = await b1.b.event('fleet.fenced', (e) => b1.b.events().indexOf(e) >= b1Before);
    live.add(b1);
    await b1.b.event('fleet.connected', (e) => b1.b.events().indexOf(e) > b1.b.events().indexOf(fenced));
    b1Back = b1.session;

    await untilAcked(ackedCount + 200);
    live.delete(b2);
    faultTimes.term = Date.now() % 100000;
    const term = await b2.b.proc.kill('SIGTERM');
    expect(term.code).toBe(0);
    b2 = await start('b2');
    live.add(b2);
    await untilAcked(ackedCount + 200);
    faultsDone = true;
    await sending;

    // ---- every acknowledged uplink reaches ThingWorx ----
    const total = [...acked.values()].reduce((n, l) => n + l.length, 0);
    const missing = () =>
      [...acked].filter(([dev, l]) => {
        const seen = new Set(pushes.get(dev) ?? []);
        return l.some((f) => !seen.has(f));
      });
    const lastPushAt = () => Date.now();
    let quietSince = lastPushAt();
    while (missing().length > 0) {
      // no sleep: woken by every push; a guard reports what is missing when pushes stop for 15 s
      const pushed = await new Promise<boolean>((resolve) => {
        const guard = setTimeout(() => resolve(false), 15_000);
        pushWaiter = () => {
          clearTimeout(guard);
          resolve(true);
        };
      });
      pushWaiter = undefined;
      if (pushed) quietSince = lastPushAt();
      else {
        const m = missing()
          .slice(0, 5)
          .map(([dev, l]) => `${dev} acked ${l.join(',')} pushed ${pushSessions.get(dev)?.join(' ')}`);
        const fleets = procs.map((p) =>
          p
            .events()
            .filter((e) => String(e.event).startsWith('fleet.'))
            .slice(-8),
        );
        throw new Error(`no push for 15 s (since ${quietSince}); missing:\n${m.join('\n')}\n${JSON.stringify(fleets)}`);
      }
    }

    // ---- the assignment is visible: /readyz, /metrics, and the heartbeats name a Thing's owner ----
    const ready = (await (await fetch(`${b1.b.base}/readyz`)).json()) as { fleet?: FleetStatus };
    expect(ready.fleet).toMatchObject({ bridgeId: 'b1', queues: QUEUES, connected: true });
    expect(ready.fleet!.members).toEqual(['b1', 'b2']);
    const metrics = await (await fetch(`${b1.b.base}/metrics`)).text();
    expect(metrics).toMatch(/^tpx_fleet_queues_owned \d+$/m);
    expect(metrics).toMatch(/^tpx_fleet_members 2$/m);
    const heard = await readHeartbeats(AMQP, fleetNames(prefix), 1500);
    const ownedByB2 = [...holder].find(([, session]) => session === b2.session)?.[0];
    if (ownedByB2) expect(fleetOwnerOf(ownedByB2, heard.values())).toBe('b2');

    // ---- the assertions ----
    let duplicates = 0;
    const dupSamples: string[] = [];
    const outOfOrder: string[] = [];
    for (const [dev, l] of pushes) {
      let max = 0;
      const seen = new Set<number>();
      for (const f of l) {
        if (seen.has(f)) {
          duplicates += 1;
          if (dupSamples.length < 6) dupSamples.push(`${dev} ${f}: ${pushSessions.get(dev)!.join(' ')}`);
        } else if (f < max) outOfOrder.push(`${dev}: ${l.join(',')}`);
        seen.add(f);
        max = Math.max(max, f);
      }
    }
    const fencedB1 = b1.session;
    const summary = {
      total,
      pushes: pushCount,
      duplicates,
      takeovers: takeovers.length,
      rejectedBinds,
      b1Fenced: fenced,
      tookOver,
      dupSamples,
      sessions: { b0: b0.session, b1: b1.session, b2first: firstB2, b2: b2.session },
      faultTimes,
      missing: missing().length,
      outOfOrder: outOfOrder.slice(0, 3),
      wrongSession: wrongSession.slice(0, 5),
      foreignTakeovers: takeovers
        .filter((t) => (t.from !== b1.session || t.rebound) && t.from !== b0.session)
        .slice(0, 5),
      b1DroppedAfterFence: b1.b.events().filter((e) => e.event === 'push.fenced').length,
      redeliveredSkipped: procs.flatMap((p) => p.events()).filter((e) => e.event === 'fleet.duplicate').length,
    };
    console.info('fleet test', summary);
    expect(missing()).toEqual([]);
    expect(outOfOrder).toEqual([]);
    // one binder at a time: a bind only moves away from the session of the paused bridge (it could not unbind what it
    // held when it was paused) or of the killed one (whose socket the platform had not closed yet); never from a live
    // bridge, nor from the paused one for a Thing it bound once it was back
    expect(takeovers.filter((t) => (t.from !== fencedB1 || t.rebound) && t.from !== b0.session)).toEqual([]);
    expect(rejectedBinds).toBe(0);
    // every push came on the session holding the Thing's bind: none from a fenced bridge
    expect(wrongSession).toEqual([]);
    // the stated bound (README "Fleet guarantees"): at most one duplicate per device per ungraceful failover
    expect(duplicates).toBeLessThanOrEqual(2 * DEVICES);
  }, 90_000);
});
