/**
 * `tpx fleet status` and readFleetStatus (issue 18) against the RabbitMQ at 127.0.0.1:5672, on a fleet of a random
 * prefix declared here and deleted afterwards; fake bridges publish heartbeats. Skipped, saying so, when no broker
 * answers. The unreachable-broker case needs no broker.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFleetStatus } from '../../../src/bridge/fleet/status.js';
import { type BridgeHeartbeat, fleetNames } from '../../../src/bridge/fleet/types.js';
import { indexRanges } from '../../../src/cli/commands/fleet.js';
import { say } from '../../../src/cli/phrases.js';
import { explainText } from '../../../src/thingworx/explain.js';
import { brokerAnswers } from '../../helpers/broker.js';
import { tempConfigHome } from '../../helpers/cli.js';
import { runInProcess } from '../../helpers/run.js';

const BROKER = 'amqp://guest:guest@127.0.0.1:5672';

const hasBroker = await brokerAnswers();
const home = tempConfigHome();
afterAll(() => home.cleanup());

describe('fleet status without a broker', () => {
  let silent: Server;
  beforeAll(async () => {
    // Accepts connections and never says a word: the wait must be bounded.
    silent = createServer((s) => {
      s.resume(); // reads, so that it sees the client close the connection
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise<void>((r) => silent.close(() => r())));

  it('a broker that does not answer: exit 1, two lines naming the host and the time', async () => {
    const port = (silent.address() as AddressInfo).port;
    const r = await runInProcess(
      ['fleet', 'status', '--queue', `amqp://u:pw@127.0.0.1:${port}`, '--timeout', '300ms'],
      {
        env: home.env,
      },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: The fleet broker at 127.0.0.1:${port} did not answer within 300ms.\n` +
        'fix: Check that RabbitMQ runs there and that --queue (or TPX_QUEUE) names it.\n',
    );
    const json = await runInProcess(
      ['fleet', 'status', '--queue', `amqp://127.0.0.1:${port}`, '--timeout', '300ms', '--json'],
      { env: home.env },
    );
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      error: { code: 'TPX_FLEET_UNREACHABLE', details: { host: `127.0.0.1:${port}`, timeoutMs: 300 } },
    });
  });

  it('needs a broker URL, and names its flag and variable', async () => {
    const r = await runInProcess(['fleet', 'status'], { env: home.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--queue/);
    expect(r.stderr).toMatch(/TPX_QUEUE/);
  });

  it('tpx explain knows the fleet error codes', () => {
    expect(explainText('error: TPX_FLEET_UNREACHABLE').explanations.map((e) => e.id)).toContain(
      'fleet-broker-unreachable',
    );
    const auth = explainText('The fleet broker at 10.0.0.1:5672 refused the user or its password.');
    expect(say(auth.explanations[0]!.fix)).toContain('--queue');
  });

  it('writes queue indexes as ranges', () => {
    expect(indexRanges([5, 0, 1, 2, 7, 9, 10])).toBe('0-2,5,7,9-10');
    expect(indexRanges([])).toBe('');
  });
});

describe.skipIf(!hasBroker)(
  `fleet status on a broker${hasBroker ? '' : ' (skipped: no RabbitMQ answers at 127.0.0.1:5672)'}`,
  () => {
    const prefix = `tpxtest-${randomBytes(4).toString('hex')}`;
    const names = fleetNames(prefix);
    const QUEUES = 5;
    let conn: Awaited<ReturnType<typeof import('amqplib')['connect']>>;
    let ch: Awaited<ReturnType<typeof conn.createChannel>>;
    let timer: NodeJS.Timeout | undefined;

    const heartbeat = (h: Partial<BridgeHeartbeat> & { bridgeId: string }) =>
      ch.publish(
        names.status,
        '',
        Buffer.from(
          JSON.stringify({ time: new Date().toISOString(), queues: [], things: 0, inFlight: 0, ready: true, ...h }),
        ),
      );
    const beats = () => {
      heartbeat({ bridgeId: 'bridge-a', queues: [names.queue(0), names.queue(1)], things: 12, inFlight: 1 });
      heartbeat({
        bridgeId: 'bridge-b',
        queues: [names.queue(2)],
        time: new Date(Date.now() - 60_000).toISOString(),
        ready: false,
      });
    };

    beforeAll(async () => {
      const amqp = await import('amqplib');
      conn = await amqp.connect(BROKER);
      ch = await conn.createChannel();
      await ch.assertExchange(names.uplinks, 'x-consistent-hash', { durable: false, autoDelete: false });
      await ch.assertExchange(names.status, 'fanout', { durable: false });
      for (let i = 0; i < QUEUES; i++) {
        await ch.assertQueue(names.queue(i), {
          durable: true,
          arguments: { 'x-queue-type': 'quorum', 'x-single-active-consumer': true },
        });
        await ch.bindQueue(names.queue(i), names.uplinks, '1');
      }
      // Three uplinks wait in queue 3, which no bridge consumes; queue 0 has a consumer (bridge-a's).
      for (const n of [1, 2, 3]) ch.sendToQueue(names.queue(3), Buffer.from(`{"n":${n}}`));
      await ch.consume(names.queue(0), () => {}, { noAck: false });
      // Queue 4 has a consumer and nothing waiting, and no bridge claims it: idle (its owner learns it at the first
      // delivery), not a problem.
      await ch.consume(names.queue(4), () => {}, { noAck: false });
      await (ch as unknown as { waitForConfirms?: () => Promise<void> }).waitForConfirms?.();
    });

    afterAll(async () => {
      clearInterval(timer);
      if (!ch) return;
      for (let i = 0; i < QUEUES; i++) await ch.deleteQueue(names.queue(i)).catch(() => {});
      await ch.deleteExchange(names.uplinks).catch(() => {});
      await ch.deleteExchange(names.status).catch(() => {});
      await conn.close().catch(() => {});
    });

    it('reads bridges from heartbeats and queues from the broker, and names the problems', async () => {
      const s = await readFleetStatus({
        url: BROKER,
        prefix,
        queues: QUEUES,
        waitMs: 300,
        connectTimeoutMs: 5000,
        onListening: beats,
      });
      expect(s.broker).toEqual({ host: '127.0.0.1:5672', vhost: '/' });
      expect(s.bridges.map((b) => [b.bridgeId, b.stale, b.ready])).toEqual([
        ['bridge-a', false, true],
        ['bridge-b', true, false],
      ]);
      expect(s.bridges[0]).toMatchObject({ things: 12, inFlight: 1, lag: 1, heartbeats: 1 });
      expect(s.queues.map((q) => [q.name, q.exists, q.messages, q.consumers, q.owners])).toEqual([
        [names.queue(0), true, 0, 1, ['bridge-a']],
        [names.queue(1), true, 0, 0, ['bridge-a']],
        [names.queue(2), true, 0, 0, ['bridge-b']],
        [names.queue(3), true, 3, 0, []],
        [names.queue(4), true, 0, 1, []],
      ]);
      expect(s.deadLetters).toBeNull();
      expect(s.totals).toMatchObject({ bridges: 2, queues: 5, messages: 3, things: 12, inFlight: 1 });
      expect(s.problems.map((p) => [p.kind, p.queue ?? p.bridgeId])).toEqual([
        ['unassigned-queue', names.queue(3)],
        ['stale-bridge', 'bridge-b'],
        ['bridge-not-ready', 'bridge-b'],
      ]);
      expect(s.ok).toBe(false);
    });

    it('tpx fleet status: a table, the problems, exit 3; --json one document; a missing queue', async () => {
      beats();
      timer = setInterval(beats, 100);
      const args = ['fleet', 'status', '--queue', BROKER, '--fleet-prefix', prefix, '--fleet-queues', '5'];
      const text = await runInProcess([...args, '--wait', '400ms'], { env: home.env, columns: 80 });
      expect(text.code, text.stderr).toBe(3);
      expect(text.stdout).toContain(
        `Fleet "${prefix}" at 127.0.0.1:5672 (vhost /):\n2 bridge(s), 5 queue(s), 3 uplink(s) waiting.`,
      );
      expect(text.stdout).toMatch(/bridge-a\s+yes\s+0-1 \(2\)\s+12\s+1\s+[\d.]+m?s ago/);
      expect(text.stdout).toMatch(/bridge-b\s+no\s+2 \(1\)\s+0\s+0\s+\S+ stale/);
      expect(text.stdout).toContain(`✗ 1 queue(s) have no bridge: ${prefix}.q.{3} (3 uplink(s) wait).`);
      expect(text.stderr).toContain('error: The fleet has 3 problem(s).');
      expect(text.stdout.split('\n').every((l) => l.length <= 80)).toBe(true);
      expect(text.stdout + text.stderr).not.toContain('guest:guest');

      const piped = await runInProcess([...args, '--wait', '300ms'], { env: home.env });
      expect(piped.stdout).toMatch(/^bridge-a\tyes\t0-1 \(2\)\t12\t1\t/m);

      const json = await runInProcess([...args, '--wait', '300ms', '--json'], { env: home.env });
      expect(json.code).toBe(3);
      const doc = JSON.parse(json.stdout);
      expect(doc).toMatchObject({ prefix, ok: false, totals: { bridges: 2, messages: 3 } });
      expect(doc.bridges[0]).toMatchObject({ bridgeId: 'bridge-a', queues: [names.queue(0), names.queue(1)] });
      expect(doc.bridges[1]).toMatchObject({ bridgeId: 'bridge-b', stale: true });
      // bridges that beat every 30s: bridge-b's heartbeat of a minute ago is not stale (3 periods)
      const slow = await runInProcess([...args, '--wait', '300ms', '--fleet-heartbeat', '30s', '--json'], {
        env: home.env,
      });
      expect(JSON.parse(slow.stdout).bridges[1]).toMatchObject({ bridgeId: 'bridge-b', stale: false });

      const more = await runInProcess(
        ['fleet', 'status', '--queue', BROKER, '--fleet-prefix', prefix, '--fleet-queues', '7', '--wait', '300ms'],
        { env: home.env },
      );
      expect(more.code).toBe(3);
      expect(more.stdout).toContain(`2 queue(s) do not exist: ${prefix}.q.{5-6}.`);
      clearInterval(timer);
    });
  },
);
