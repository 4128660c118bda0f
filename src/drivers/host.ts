/**
 * Runs driver code in a worker thread with memory limits; each driver in a vm context of its own; each call with a
 * time limit. A call that throws answers with the error; a call that runs past the limit, or a worker that dies
 * (out of memory, crash), costs that call only: the worker is replaced, the drivers loaded again, and the calls
 * queued behind it are sent to the new worker.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { DriverError } from './errors.js';
import type { CodecFunction } from './types.js';
import { WORKER_SOURCE } from './worker-source.js';

export interface DriverHostOptions {
  /** Time limit of one call, ms. Default 50. */
  timeoutMs?: number;
  /** Old-generation heap of the worker, MB. Default 64. */
  memoryMb?: number;
  /** Extra time the worker gets beyond the limit before it is replaced without an answer, ms. Default 1000. */
  graceMs?: number;
}

export type CallFailure = 'threw' | 'timeout' | 'memory' | 'crashed' | 'missing' | 'bad_output';

export type CallResult =
  | { ok: true; output: unknown; context?: unknown[]; ms: number }
  | { ok: false; reason: CallFailure; error: string; ms: number };

export interface DriverHostEvents {
  /** The worker was replaced; `reason` is what happened to it. */
  'worker.replaced': [{ reason: CallFailure; error: string; requeued: number }];
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
  private readonly graceMs: number;
  private worker: Worker | undefined;
  private readonly scripts = new Map<string, { code: string; filename: string }>();
  private readonly functions = new Map<string, CodecFunction[]>();
  private readonly pending = new Map<number, Pending>();
  private loading: Promise<void> | undefined;
  private nextId = 1;
  private watchdog: NodeJS.Timeout | undefined;
  private closed = false;
  /** Workers replaced since start. */
  restarts = 0;
  calls = 0;

  constructor(o: DriverHostOptions = {}) {
    super();
    this.timeoutMs = o.timeoutMs ?? 50;
    this.memoryMb = o.memoryMb ?? 64;
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

  private ensureWorker(): Promise<void> {
    if (this.worker) return this.loading ?? Promise.resolve();
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      resourceLimits: {
        maxOldGenerationSizeMb: this.memoryMb,
        maxYoungGenerationSizeMb: 16,
        codeRangeSizeMb: 16,
        stackSizeMb: 4,
      },
      stdout: true,
      stderr: true,
    });
    worker.unref();
    this.worker = worker;
    worker.on('message', (m: { op: string; id?: number; json?: string; error?: string; timeout?: boolean }) => {
      if (m.op === 'result' && m.id !== undefined) this.answer(m.id, m);
    });
    worker.on('error', (err: Error & { code?: string }) => {
      const reason: CallFailure = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : 'crashed';
      this.replace(worker, reason, err.message);
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.replace(worker, 'crashed', `driver worker exited (${code})`);
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
      const p: Pending = { id: this.nextId++, key, json, started, resolve };
      this.pending.set(p.id, p);
      this.send(p);
    });
  }

  private send(p: Pending): void {
    // Referenced while calls wait for it (a CLI command awaiting a decode must not exit), unreferenced when idle.
    this.worker!.ref();
    this.worker!.postMessage({ op: 'call', id: p.id, key: p.key, json: p.json, timeoutMs: this.timeoutMs });
    this.arm();
  }

  /** One timer for the worker: it must answer something within limit + grace while calls are pending. */
  private arm(): void {
    if (this.watchdog || this.pending.size === 0) return;
    const worker = this.worker;
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      if (worker && this.worker === worker && this.pending.size > 0) {
        this.replace(worker, 'timeout', `no answer within ${this.timeoutMs} ms`);
      }
    }, this.timeoutMs + this.graceMs);
    this.watchdog.unref();
  }

  private answer(id: number, m: { json?: string; error?: string; timeout?: boolean }): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
    if (this.watchdog) {
      clearTimeout(this.watchdog);
      this.watchdog = undefined;
    }
    this.arm();
    const ms = performance.now() - p.started;
    if (m.error !== undefined) {
      if (m.timeout) {
        p.resolve({ ok: false, reason: 'timeout', error: `took longer than ${this.timeoutMs} ms`, ms });
        // A looping driver may have left its realm in any state: start clean.
        if (this.worker) this.replace(this.worker, 'timeout', `a call took longer than ${this.timeoutMs} ms`, false);
        return;
      }
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
   * Replaces the worker. With `blame` (the default) the oldest pending call (the one the worker was running) fails
   * with `reason`; the others are sent again to the new worker.
   */
  private replace(worker: Worker, reason: CallFailure, error: string, blame = true): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.loading = undefined;
    if (this.watchdog) {
      clearTimeout(this.watchdog);
      this.watchdog = undefined;
    }
    void worker.terminate();
    this.restarts += 1;
    const waiting = [...this.pending.values()].sort((a, b) => a.id - b.id);
    if (blame && waiting.length > 0) {
      const first = waiting.shift()!;
      this.pending.delete(first.id);
      const text =
        reason === 'memory'
          ? 'ran out of memory'
          : reason === 'timeout'
            ? `took longer than ${this.timeoutMs} ms`
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
