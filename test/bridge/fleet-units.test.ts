/** Issue 18: the fleet's pieces that need no broker (heartbeats, the owner of a Thing, release during a bind, flags). */
import { describe, expect, it } from 'vitest';
import { BridgeEvents } from '../../src/bridge/events.js';
import { fleetOwnerOf, parseHeartbeat, publishHeartbeat } from '../../src/bridge/fleet/heartbeat.js';
import { type BridgeHeartbeat, fleetNames } from '../../src/bridge/fleet/types.js';
import { Provisioner } from '../../src/bridge/provisioning.js';
import { runInProcess } from '../helpers/run.js';
import { FakeDirectory, FakeSink } from './fakes.js';

const hb = (bridgeId: string, time: string, bound?: string[]): BridgeHeartbeat => ({
  bridgeId,
  time,
  queues: [],
  things: bound?.length ?? 0,
  inFlight: 0,
  ready: true,
  ...(bound ? { bound } : {}),
});

describe('fleet heartbeats', () => {
  it('publishes JSON on the status exchange and reads it back; anything else is ignored', () => {
    const sent: { exchange: string; key: string; body: Buffer }[] = [];
    const ch = {
      publish: (exchange: string, key: string, body: Buffer) => sent.push({ exchange, key, body }) > 0,
    };
    const names = fleetNames('f1');
    expect(publishHeartbeat(ch, names, hb('b1', '2026-01-01T00:00:00.000Z', ['AA']))).toBe(true);
    expect(sent[0]).toMatchObject({ exchange: 'f1.status', key: '' });
    expect(parseHeartbeat(sent[0]!.body)).toEqual(hb('b1', '2026-01-01T00:00:00.000Z', ['AA']));
    expect(parseHeartbeat('not json')).toBeUndefined();
    expect(parseHeartbeat('{"bridgeId":1}')).toBeUndefined();
    expect(names.queue(7)).toBe('f1.q.007');
  });

  it('names the owner of a Thing: the newest heartbeat listing it bound', () => {
    const beats = [
      hb('b1', '2026-01-01T00:00:01.000Z', ['70B3D57ED0000001']),
      hb('b2', '2026-01-01T00:00:02.000Z', ['70b3d57ed0000001', '70B3D57ED0000002']),
      hb('b3', '2026-01-01T00:00:03.000Z'),
    ];
    expect(fleetOwnerOf('70B3D57ED0000001', beats)).toBe('b2');
    expect(fleetOwnerOf('70B3D57ED0000002', beats)).toBe('b2');
    expect(fleetOwnerOf('70B3D57ED0000003', beats)).toBeUndefined();
  });
});

describe('releasing Things (a fleet queue handed over)', () => {
  it('unbinds what is bound, and undoes a BIND answered after the release', async () => {
    const sink = new FakeSink();
    let answer: (() => void) | undefined;
    const bind = sink.bind.bind(sink);
    sink.bind = async (names) => {
      await new Promise<void>((r) => {
        answer = r;
      });
      return bind(names);
    };
    const directory = new FakeDirectory();
    directory.things.add('A').add('B');
    const p = new Provisioner(directory, sink, new BridgeEvents(), {
      template: 'T',
      maxDevices: 10,
      bindKnown: false,
    });
    await p.init();
    expect(sink.bindCalls).toEqual([]); // a fleet bridge binds only the Things of its queues
    const ensured = p.ensure('A');
    while (!answer) await new Promise((r) => setImmediate(r));
    await p.releaseThings(['A']); // released while its BIND is on the way
    answer();
    await ensured;
    await new Promise((r) => setImmediate(r));
    expect(p.bound.has('A')).toBe(false);
    expect(sink.bound.has('A')).toBe(false);
  });

  it('forgets what it releases while ThingWorx is disconnected: not bound again when the pipe reconnects', async () => {
    const sink = new FakeSink();
    const directory = new FakeDirectory();
    directory.things.add('A').add('B');
    const p = new Provisioner(directory, sink, new BridgeEvents(), { template: 'T', maxDevices: 10, bindKnown: false });
    await p.init();
    await p.ensure('A');
    await p.ensure('B');
    // fenced while the AlwaysOn socket is down (the platform unbound them with the session): no UNBIND can go, and
    // the pipe must not bind them again on its reconnect (another bridge owns their queue now)
    sink.connected = false;
    await p.releaseThings(['A'], false);
    expect(sink.forgotten).toEqual(['A']);
    expect(p.bound.has('A')).toBe(false);
    expect(p.bound.has('B')).toBe(true);
  });
});

describe('tpx bridge --queue', () => {
  it('refuses what is not an amqp:// URL, naming the flag (usage error)', async () => {
    const r = await runInProcess(['bridge', '--queue', 'http://guest:secret@host/', '--no-verify-tokens']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--queue');
    expect(r.stderr).not.toContain('secret');
  });

  it('refuses a fleet heartbeat under a second (the broker counts whole seconds)', async () => {
    const r = await runInProcess(['bridge', '--queue', 'amqp://h/', '--fleet-heartbeat', '500ms']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--fleet-heartbeat is at least 1s');
  });
});
