/**
 * Runs driver code in a worker thread with memory limits; each driver in a vm context of its own; each call with a
 * time limit. A call that throws answers with the error; a call that runs past the limit, or a worker that dies
 * (out of memory, crash), costs that call only: the worker is replaced, the drivers loaded again, and the calls
 * queued behind it are sent to the new worker.
 *
 * The host enforces the limit, not the vm (a vm `timeout` starts a watchdog thread per call, most of a call's
 * cost): the worker publishes the call it runs and since when in a SharedArrayBuffer (CallClock), and one timer
 * of the host reads it and terminates the worker once that call has run `timeoutMs + slackMs`. The worker's own
 * clock is read, not the time its answers reach the host, so a busy main thread (answers waiting in its queue)
 * never makes a call look late.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { hrtime } from 'node:process';
import { Worker } from 'node:worker_threads';
import { formatDuration } from '../util/duration.js';
import { DriverError } from './errors.js';
import type { CodecFunction } from './types.js';
import { WORKER_SOURCE } from './worker-source.js';

export interface DriverHostOptions {
  /** Time limit of one call, ms. Default 50. */
  timeoutMs?: number;
  /** Old-generation heap of the worker, MB. Default 64. */
  memoryMb?: number;
  /**
   * How far past the limit a running call may go before the worker is terminated, ms. Default 20 (DEFAULT_SLACK_MS).
   */
  slackMs?: number;
  /** Extra time the worker gets beyond the limit before it is replaced without an answer, ms. Default 1000. */
  graceMs?: number;
}

/**
 * A call is stopped once it has run its limit plus this much. Large enough that a pause of the worker inside a call
 * (a garbage collection: a scavenge of its 16 MB young generation takes a few ms, a full collection of its 64 MB
 * heap rarely more than 10-20 ms) seldom fails a call that keeps to its limit (a timeout reloads every driver);
 * small enough that a 50 ms limit still stops a loop within about 70 ms.
 */
export const DEFAULT_SLACK_MS = 20;

export type CallFailure = 'threw' | 'timeout' | 'memory' | 'crashed' | 'missing' | 'bad_output';

export type CallResult =
  | { ok: true; output: unknown; context?: unknown[]; ms: number }
  | { ok: false; reason: CallFailure; error: string; ms: number };

export interface DriverHostEvents {
  /** The worker was replaced; `reason` is what happened to it. */
  'worker.replaced': [{ reason: CallFailure; error: string; requeued: number }];
}

/**
 * What the worker publishes (one SharedArrayBuffer per worker): the id of the call it runs (0: none), written with
 * Atomics.store after its start time (process.hrtime in ms, the same clock in every thread).
 */
interface CallClock {
  buffer: SharedArrayBuffer;
  runningId: Int32Array;
  runningSince: Float64Array;
}

function callClock(): CallClock {
  const buffer = new SharedArrayBuffer(16);
  return { buffer, runningId: new Int32Array(buffer, 0, 1), runningSince: new Float64Array(buffer, 8, 1) };
}

/** The worker's clock: process.hrtime in ms (monotonic, shared by every thread of the process). */
function nowMs(): number {
  const [s, ns] = hrtime();
  return s * 1e3 + ns / 1e6;
}

/** What the host's watchdog sees when its timer fires. */
export interface WatchdogState {
  /** How long the call the worker runs has been running, ms; undefined when it runs none of the pending calls. */
  runningMs: number | undefined;
  /** Time since the last answer (or since the first call was sent to an idle worker), ms. */
  quietMs: number;
  timeoutMs: number;
  slackMs: number;
  graceMs: number;
}

/**
 * The watchdog's decision: stop the running call once it ran limit + slack, else look again when it would; with no
 * call running, replace a worker that answered nothing for limit + grace (stuck outside any call), else look again
 * within limit + slack (a call may start any time).
 */
export function watchdogVerdict(s: WatchdogState): { stop: 'call' | 'silent' } | { recheckMs: number } {
  const callLimit = s.timeoutMs + s.slackMs;
  if (s.runningMs !== undefined) {
    return s.runningMs >= callLimit ? { stop: 'call' } : { recheckMs: callLimit - s.runningMs };
  }
  const silentLimit = s.timeoutMs + s.graceMs;
  if (s.quietMs >= silentLimit) return { stop: 'silent' };
  return { recheckMs: Math.min(callLimit, silentLimit - s.quietMs) };
}

interface Pending {
  id: number;
  key: string;
  json: string;
  started: number;
  resolve: (r: CallResult) => void;
}

/** Largest JSON answer accepted from a driver (a decoded payload bigger than this is refused). */
export const MAX_OUTPUT_CHARS = 256 * 1024;

export class DriverHost extends EventEmitter<DriverHostEvents> {
  readonly timeoutMs: number;
  private readonly memoryMb: number;
  private readonly slackMs: number;
  private readonly graceMs: number;
  private worker: Worker | undefined;
  /** The current worker's CallClock. */
  private clock: CallClock | undefined;
  private readonly scripts = new Map<string, { code: string; filename: string }>();
  private readonly functions = new Map<string, CodecFunction[]>();
  private readonly pending = new Map<number, Pending>();
  private loading: Promise<void> | undefined;
  /** The next call's id: 1 to 2^31 - 1, then 1 again (the worker publishes it in an Int32Array; 0 is "none"). */
  private nextId = 1;
  private watchdog: NodeJS.Timeout | undefined;
  /** When the worker last answered a call, or was sent one while it had none (performance.now()). */
  private progressAt = 0;
  private closed = false;
  /** Workers replaced since start. */
  restarts = 0;
  calls = 0;

  constructor(o: DriverHostOptions = {}) {
    super();
    this.timeoutMs = o.timeoutMs ?? 50;
    this.memoryMb = o.memoryMb ?? 64;
    this.slackMs = o.slackMs ?? DEFAULT_SLACK_MS;
    this.graceMs = o.graceMs ?? 1000;
  }

  /** Loads (or replaces) a driver's script; resolves with the codec functions it defines. */
  async load(key: string, code: string, filename: string): Promise<CodecFunction[]> {
    if (this.closed) throw new DriverError('TPX_DRIVER_CLOSED', 'the driver host is closed');
    this.scripts.set(key, { code, filename });
    await this.ensureWorker();
    const fns = await this.loadInto(this.worker!, key, code, filename);
    if (!fns.includes('decodeUplink')) {
      throw new DriverError('TPX_DRIVER_LOAD', `${filename} defines no decodeUplink function`, { key, filename });
    }
    this.functions.set(key, fns);
    return fns;
  }

  /** The functions a loaded driver defines. */
  functionsOf(key: string): CodecFunction[] {
    return this.functions.get(key) ?? [];
  }

  private loadInto(worker: Worker, key: string, code: string, filename: string): Promise<CodecFunction[]> {
    worker.ref();
    const idle = () => {
      if (this.pending.size === 0) worker.unref();
    };
    return new Promise<CodecFunction[]>((resolve, reject) => {
      const onMessage = (m: { op: string; key?: string; functions?: CodecFunction[]; error?: string }) => {
        if (m.op !== 'loaded' || m.key !== key) return;
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        idle();
        if (m.error !== undefined) {
          reject(new DriverError('TPX_DRIVER_LOAD', `${filename} failed to load: ${m.error}`, { key, filename }));
        } else resolve(m.functions ?? []);
      };
      const onExit = () => {
        worker.off('message', onMessage);
        idle();
        reject(new DriverError('TPX_DRIVER_LOAD', `${filename} stopped the driver worker while loading`, { key }));
      };
      worker.on('message', onMessage);
      worker.once('exit', onExit);
      worker.postMessage({ op: 'load', key, code, filename, timeoutMs: Math.max(this.timeoutMs, 1000) });
    });
  }

  /**
   * Starts a worker that publishes the call it runs in `clock` (a CallClock's buffer). The one seam for tests: a
   * subclass may return a stand-in that decides in which order the host hears of its answers and of its death
   * (test/drivers/host-death.test.ts), which a real worker leaves to chance.
   */
  protected startWorker(clock: SharedArrayBuffer): Worker {
    return new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { clock },
      resourceLimits: {
        maxOldGenerationSizeMb: this.memoryMb,
        maxYoungGenerationSizeMb: 16,
        codeRangeSizeMb: 16,
        stackSizeMb: 4,
      },
      stdout: true,
      stderr: true,
    });
  }

  private ensureWorker(): Promise<void> {
    if (this.worker) return this.loading ?? Promise.resolve();
    const clock = callClock();
    const worker = this.startWorker(clock.buffer);
    worker.unref();
    this.worker = worker;
    this.clock = clock;
    worker.on('message', (m: { op: string; id?: number; json?: string; error?: string }) => {
      if (m.op === 'result' && m.id !== undefined) this.answer(m.id, m);
    });
    // a worker that dies blames the call it was running (its clock says which), else the oldest pending one
    worker.on('error', (err: Error & { code?: string }) => {
      const reason: CallFailure = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : 'crashed';
      this.replace(worker, reason, err.message, this.runningCall(clock) ?? 'oldest');
    });
    worker.on('exit', (code) => {
      if (this.worker === worker)
        this.replace(worker, 'crashed', `driver worker exited (${code})`, this.runningCall(clock) ?? 'oldest');
    });
    const scripts = [...this.scripts];
    this.loading = (async () => {
      for (const [key, s] of scripts) {
        try {
          await this.loadInto(worker, key, s.code, s.filename);
        } catch {
          // A driver that no longer loads (it did before) answers its calls with "driver not loaded".
        }
      }
    })().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** Calls one codec function; never rejects: failures come back as `{ok:false}`. */
  async call(key: string, fn: CodecFunction, input: unknown, context?: unknown[]): Promise<CallResult> {
    const started = performance.now();
    if (this.closed) return { ok: false, reason: 'crashed', error: 'the driver host is closed', ms: 0 };
    if (!this.functionsOf(key).includes(fn)) {
      return { ok: false, reason: 'missing', error: `the driver has no ${fn} function`, ms: 0 };
    }
    this.calls += 1;
    const json = JSON.stringify({ fn, input, ...(context ? { context } : {}) });
    await this.ensureWorker();
    return new Promise((resolve) => {
      const p: Pending = { id: this.nextId, key, json, started, resolve };
      this.nextId = p.id === 0x7fffffff ? 1 : p.id + 1;
      this.pending.set(p.id, p);
      this.send(p);
    });
  }

  private send(p: Pending): void {
    // Referenced while calls wait for it (a CLI command awaiting a decode must not exit), unreferenced when idle.
    this.worker!.ref();
    // No time limit in the message: the worker runs calls without one, the watchdog below enforces it.
    this.worker!.postMessage({ op: 'call', id: p.id, key: p.key, json: p.json });
    // The quiet time counts from here when the worker had nothing to answer (no other call, or no watchdog yet).
    if (!this.watchdog || this.pending.size === 1) this.progressAt = performance.now();
    if (!this.watchdog) this.arm(this.timeoutMs + this.slackMs);
  }

  /**
   * One timer per host while calls are pending, not re-armed per call: it looks at the call the worker runs (its
   * CallClock) when that call would reach limit + slack, at most limit + slack apart, and stops a call that ran
   * past it; it also replaces a worker that answered nothing for limit + grace.
   */
  private arm(ms: number): void {
    this.watchdog = setTimeout(() => this.watch(), Math.max(1, Math.ceil(ms)));
    this.watchdog.unref();
  }

  /** The pending call the worker of `clock` runs now, if any. */
  private runningCall(clock: CallClock): number | undefined {
    const id = Atomics.load(clock.runningId, 0);
    return id !== 0 && this.pending.has(id) ? id : undefined;
  }

  private watch(): void {
    this.watchdog = undefined;
    const worker = this.worker;
    const clock = this.clock;
    if (!worker || !clock || this.pending.size === 0) return;
    const id = this.runningCall(clock);
    const verdict = watchdogVerdict({
      runningMs: id !== undefined ? nowMs() - clock.runningSince[0]! : undefined,
      quietMs: performance.now() - this.progressAt,
      timeoutMs: this.timeoutMs,
      slackMs: this.slackMs,
      graceMs: this.graceMs,
    });
    if ('recheckMs' in verdict) this.arm(verdict.recheckMs);
    // A looping driver may have left its realm in any state: start clean.
    else if (verdict.stop === 'call')
      this.replace(worker, 'timeout', `a call took longer than ${formatDuration(this.timeoutMs)}`, id ?? 'oldest');
    else this.replace(worker, 'timeout', `no answer within ${formatDuration(this.timeoutMs)}`, 'oldest');
  }

  private answer(id: number, m: { json?: string; error?: string }): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
    const now = performance.now();
    this.progressAt = now;
    const ms = now - p.started;
    if (m.error !== undefined) {
      p.resolve({ ok: false, reason: 'threw', error: m.error, ms });
      return;
    }
    if (m.json === undefined || m.json.length > MAX_OUTPUT_CHARS) {
      const error =
        m.json === undefined
          ? 'the driver returned nothing JSON can hold'
          : `output over ${MAX_OUTPUT_CHARS} characters`;
      p.resolve({ ok: false, reason: 'bad_output', error, ms });
      return;
    }
    const parsed = JSON.parse(m.json) as { out?: unknown; context?: unknown[]; missing?: string };
    if (parsed.missing) {
      p.resolve({ ok: false, reason: 'missing', error: `the driver has no ${parsed.missing} function`, ms });
      return;
    }
    p.resolve({ ok: true, output: parsed.out, ...(parsed.context ? { context: parsed.context } : {}), ms });
  }

  /**
   * Replaces the worker. The call blamed (by id, or the oldest pending one: the one the worker was running) fails
   * with `reason`; the others are sent again to the new worker.
   */
  private replace(worker: Worker, reason: CallFailure, error: string, blame: number | 'oldest'): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.loading = undefined;
    if (this.watchdog) {
      clearTimeout(this.watchdog);
      this.watchdog = undefined;
    }
    void worker.terminate();
    this.restarts += 1;
    // In the order the calls were made (a Map keeps insertion order; ids wrap, so they are not sorted).
    const waiting = [...this.pending.values()];
    const at = blame === 'oldest' ? 0 : waiting.findIndex((p) => p.id === blame);
    if (at >= 0 && at < waiting.length) {
      const [first] = waiting.splice(at, 1) as [Pending];
      this.pending.delete(first.id);
      const text =
        reason === 'memory'
          ? 'ran out of memory'
          : reason === 'timeout'
            ? `took longer than ${formatDuration(this.timeoutMs)}`
            : error;
      first.resolve({ ok: false, reason, error: text, ms: performance.now() - first.started });
    }
    this.emit('worker.replaced', { reason, error, requeued: waiting.length });
    if (this.closed) {
      for (const p of waiting) p.resolve({ ok: false, reason: 'crashed', error: 'the driver host is closed', ms: 0 });
      this.pending.clear();
      return;
    }
    if (waiting.length === 0) return;
    void this.ensureWorker().then(() => {
      for (const p of waiting) if (this.pending.has(p.id)) this.send(p);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.watchdog) clearTimeout(this.watchdog);
    const w = this.worker;
    this.worker = undefined;
    for (const p of this.pending.values())
      p.resolve({ ok: false, reason: 'crashed', error: 'the driver host is closed', ms: 0 });
    this.pending.clear();
    if (w) await w.terminate();
  }
}
