/**
 * A driver worker that dies (out of memory, crash) costs the call it was running: the one its CallClock says it
 * runs, not the oldest pending one. They differ when the worker answered a call and started the next before it died,
 * and the host hears of the death before that answer: a real worker leaves that order to chance, so a stand-in
 * worker (DriverHost's startWorker seam) plays it out here, message by message.
 */
import { EventEmitter, once } from 'node:events';
import { hrtime } from 'node:process';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { DriverHost } from '../../src/drivers/host.js';

interface Sent {
  id: number;
  key: string;
  json: string;
}

/**
 * Stands in for the driver worker: loads anything (a script with decodeUplink), publishes in its clock the call the
 * test says it runs, and sends what the test says, when the test says. A worker that is not `scripted` answers each
 * call at once, with `{ worker, n }` (`n` of the call's input).
 */
class StandInWorker extends EventEmitter {
  readonly sent: Sent[] = [];
  private readonly runningId: Int32Array;
  private readonly runningSince: Float64Array;

  constructor(
    clock: SharedArrayBuffer,
    readonly name: string,
    private readonly scripted: boolean,
  ) {
    super();
    this.runningId = new Int32Array(clock, 0, 1);
    this.runningSince = new Float64Array(clock, 8, 1);
  }

  postMessage(m: { op: string; key: string; id?: number; json?: string }): void {
    if (m.op === 'load') {
      setImmediate(() => this.emit('message', { op: 'loaded', key: m.key, functions: ['decodeUplink'] }));
      return;
    }
    const call = { id: m.id!, key: m.key, json: m.json! };
    this.sent.push(call);
    this.emit('sent');
    if (!this.scripted) setImmediate(() => this.emit('message', this.result(call.id, inputOf(call).n)));
  }

  /** The calls sent to this worker, once there are `n`. */
  async received(n: number): Promise<Sent[]> {
    while (this.sent.length < n) await once(this, 'sent');
    return this.sent;
  }

  /** What the worker publishes when it starts call `id` (0: none): its start time, then its id. */
  runs(id: number): void {
    const [s, ns] = hrtime();
    this.runningSince[0] = s * 1e3 + ns / 1e6;
    Atomics.store(this.runningId, 0, id);
  }

  /** The worker's answer to call `id`: the driver returned `{ worker, n }`. */
  result(id: number, n: unknown): { op: 'result'; id: number; json: string } {
    return { op: 'result', id, json: JSON.stringify({ out: { worker: this.name, n } }) };
  }

  ref(): void {}
  unref(): void {}

  terminate(): Promise<number> {
    setImmediate(() => this.emit('exit', 1));
    return Promise.resolve(1);
  }
}

const inputOf = (s: Sent) => (JSON.parse(s.json) as { input: { n?: unknown } }).input;

/** A host whose first worker is scripted by the test; the workers that replace it answer every call at once. */
class StandInHost extends DriverHost {
  readonly workers: StandInWorker[] = [];

  protected override startWorker(clock: SharedArrayBuffer): Worker {
    const w = new StandInWorker(clock, `worker ${this.workers.length + 1}`, this.workers.length === 0);
    this.workers.push(w);
    return w as unknown as Worker;
  }
}

const hosts: DriverHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close();
});

/** A host with one driver loaded; a limit of a minute, so its watchdog never has a say here. */
async function standInHost(): Promise<{ host: StandInHost; first: StandInWorker }> {
  const host = new StandInHost({ timeoutMs: 60_000 });
  hosts.push(host);
  await host.load('x', 'function decodeUplink(input) { return { data: input }; }', 'x.js');
  return { host, first: host.workers[0]! };
}

const deaths = [
  {
    death: 'runs out of memory',
    die: (w: StandInWorker) =>
      w.emit(
        'error',
        Object.assign(new Error('Worker terminated due to reaching memory limit: JS heap out of memory'), {
          code: 'ERR_WORKER_OUT_OF_MEMORY',
        }),
      ),
    blamed: { ok: false, reason: 'memory', error: 'ran out of memory' },
    event: { reason: 'memory', error: 'Worker terminated due to reaching memory limit: JS heap out of memory' },
  },
  {
    death: 'crashes (an error)',
    die: (w: StandInWorker) => w.emit('error', new Error('native crash')),
    blamed: { ok: false, reason: 'crashed', error: 'native crash' },
    event: { reason: 'crashed', error: 'native crash' },
  },
  {
    death: 'exits',
    die: (w: StandInWorker) => w.emit('exit', 7),
    blamed: { ok: false, reason: 'crashed', error: 'driver worker exited (7)' },
    event: { reason: 'crashed', error: 'driver worker exited (7)' },
  },
];

describe('drivers: a worker that dies', () => {
  for (const { death, die, blamed, event } of deaths) {
    it(`blames the call its clock says it ran when it ${death}, not the oldest pending one, whose answer was on its way`, async () => {
      const { host, first } = await standInHost();
      const replaced = once(host, 'worker.replaced');
      const a = host.call('x', 'decodeUplink', { n: 'A' });
      const b = host.call('x', 'decodeUplink', { n: 'B' });
      const [sentA, sentB] = await first.received(2);
      // The worker ran A and posted its answer, then started B, then died; the host hears of the death first.
      first.runs(sentA!.id);
      const answerA = first.result(sentA!.id, 'A');
      first.runs(sentB!.id);
      die(first);
      first.emit('message', answerA);

      expect(await b).toMatchObject(blamed);
      expect(await a).toMatchObject({ ok: true, output: { worker: 'worker 1', n: 'A' } });
      // A was still pending at the death (sent again), B was not.
      expect(await replaced).toEqual([{ ...event, requeued: 1 }]);
      // A is not run a second time: the next worker's first call is the next one made.
      expect(await host.call('x', 'decodeUplink', { n: 'C' })).toMatchObject({
        ok: true,
        output: { worker: 'worker 2', n: 'C' },
      });
      expect(host.workers[1]!.sent.map(inputOf)).toEqual([{ n: 'C' }]);
      expect(host.restarts).toBe(1);
    });
  }

  it('blames the oldest pending call when its clock says it runs none (it died between calls)', async () => {
    const { host, first } = await standInHost();
    const replaced = once(host, 'worker.replaced');
    const a = host.call('x', 'decodeUplink', { n: 'A' });
    const b = host.call('x', 'decodeUplink', { n: 'B' });
    await first.received(2);
    first.emit('exit', 7);

    expect(await a).toMatchObject({ ok: false, reason: 'crashed', error: 'driver worker exited (7)' });
    expect(await b).toMatchObject({ ok: true, output: { worker: 'worker 2', n: 'B' } });
    expect(await replaced).toEqual([{ reason: 'crashed', error: 'driver worker exited (7)', requeued: 1 }]);
  });
});
