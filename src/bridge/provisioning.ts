/**
 * Things per device: known Things (listed at start with paging) are bound at start; a new DevEUI gets its Thing
 * created from the template on first report (CreateThing, EnableThing, RestartThing), then bound. The device cap
 * refuses new devices for good (the report goes to the dead-letter table).
 */
import type { BridgeEvents } from './events.js';
import {
  PermanentError,
  StoppedError,
  StubbornError,
  type ThingConnection,
  type ThingDirectory,
  type ThingWorxSink,
} from './ports.js';

export interface ProvisionerOptions {
  template: string;
  maxDevices: number;
  /** Names per BIND message (Actility's connector timed out binding ~5K at once). Default 500. */
  bindBatch?: number;
  /** BIND messages in flight at once when binding many Things (start, re-bind). Default 4. */
  bindConcurrency?: number;
  /** Concurrent Thing creations. Default 8. */
  createConcurrency?: number;
  /** How often Things refused on a re-bind after a reconnect are bound again, ms. Default 30 000. */
  rebindRetryMs?: number;
  /** The template of a new Thing when it is not `template` (a device whose payload driver has its own). */
  templateFor?: (name: string) => string | undefined;
  /**
   * How often the bridge verifies that it still holds its Things (ms; 0 = never). Default 10 000. Each check reads
   * the Things' `isConnected` and `lastConnection` (ThingDirectory.connections): a Thing bound again after our BIND
   * was taken by another session; a Thing nobody holds is bound again.
   */
  bindCheckMs?: number;
  /** Take Things held by another session once, deliberately (Last in wins), instead of waiting for their release. */
  takeOver?: boolean;
  /** Bind the template's Things at start (default true); a fleet bridge binds only the Things of its queues. */
  bindKnown?: boolean;
  /**
   * Who holds these Things (a short description of the session), asked when the bind check finds Things taken: its
   * answer goes into `things.taken` as `holder`. Optional (naming sessions needs an administrator's key).
   */
  holderOf?: (names: string[]) => Promise<string | undefined>;
  /** How long the bind check waits for holderOf before it says the takeover without a holder (ms). Default 3 000. */
  holderWaitMs?: number;
}

/** How long the bind check waits for `holderOf` by default. */
export const HOLDER_WAIT_MS = 3_000;

/** Names shown in one log line or event at most. */
export const SAMPLE_SIZE = 5;

/** Newly bound Things whose baselines are read by name (one REST call each); more take one listing of all. */
const BASELINE_BY_NAME = 64;

/** The bind check's period is at least this many times as long as the last check took. */
const CHECK_DUTY = 10;

function sample(names: Iterable<string>): string[] {
  const out: string[] = [];
  for (const n of names) {
    if (out.length >= SAMPLE_SIZE) break;
    out.push(n);
  }
  return out;
}

/** How the bridge stands with one of its Things. */
export type BindingState = 'bound' | 'taken' | 'refused' | 'unbound';

/** A bind its caller withdrew before it was sent (`stillValid` said no: a fleet report whose queue was lost). */
export class BindWithdrawnError extends Error {
  constructor(name: string) {
    super(`the BIND of ${name} was withdrawn before it was sent`);
    this.name = 'BindWithdrawnError';
  }
}

export class DeviceLimitError extends PermanentError {
  constructor(max: number) {
    super(`device limit reached (${max} devices)`);
    this.name = 'DeviceLimitError';
  }
}

export class Provisioner {
  readonly known = new Set<string>();
  readonly bound = new Set<string>();
  private readonly creating = new Map<string, Promise<void>>();
  private createSlots: number;
  private readonly createWaiters: (() => void)[] = [];
  private bindQueue: {
    name: string;
    stillValid: (() => boolean) | undefined;
    resolve: () => void;
    reject: (e: Error) => void;
  }[] = [];
  private bindScheduled = false;
  /** Things refused when bound again after a reconnect: still pushed to, bound again by a timer. */
  private readonly unbound = new Set<string>();
  private rebindTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Aborts the REST calls in flight at close() (the stop): they end at once, with a StoppedError. */
  private readonly stopCtl = new AbortController();
  /** Things another session bound after ours (detected by the bind check): not bound again while it holds them. */
  readonly taken = new Map<string, number>();
  /** Things the platform refused to bind (First in wins: another session holds them), with the reason. */
  readonly refused = new Map<string, string>();
  /** lastConnection of each bound Thing as seen by the first check after our BIND (the baseline of the next). */
  private readonly marks = new Map<string, number>();
  private checkTimer: NodeJS.Timeout | undefined;
  /** The periodic check runs (started once the Things are bound; not with a period of 0). */
  private checksOn = false;
  private checking: Promise<number> | undefined;
  /** Bumped when a pipe comes up (it bound its Things again): a check running across it is ignored. */
  private epoch = 0;
  private tookOver = false;
  private checkFailed = false;
  private recheck = false;
  /** Things bound whose baseline is still to be read (baselineSoon), and whether a read is on its way. */
  private readonly unmarked = new Set<string>();
  private baselining = false;
  private noView = false;
  /** Times each Thing was released (fleet): a BIND answered after a release is undone. */
  private readonly releases = new Map<string, number>();

  constructor(
    private readonly directory: ThingDirectory,
    private readonly sink: ThingWorxSink,
    private readonly events: BridgeEvents,
    private readonly options: ProvisionerOptions,
  ) {
    this.createSlots = options.createConcurrency ?? 8;
  }

  /** Lists the template's Things and binds them in batches. */
  async init(): Promise<void> {
    const { names, pages } = await this.directory.list(this.options.template, this.call);
    for (const n of names) this.known.add(n);
    this.events.emit('things.listed', { count: names.length, pages });
    if (this.options.bindKnown === false) return;
    const refusedNow: string[] = [];
    let why = '';
    await this.bindBatches(names, (chunk, refused, reason) => {
      for (const n of chunk) if (!refused.has(n)) this.bound.add(n);
      for (const n of refused) {
        this.refused.set(n, reason ?? 'bind refused');
        refusedNow.push(n);
      }
      if (refused.size) why = reason ?? 'bind refused';
    });
    this.events.emit('things.bound', { count: this.bound.size });
    if (refusedNow.length) this.reportRefused(refusedNow, why);
    this.startChecks();
  }

  /** One event (one log line) for Things the platform refused to bind: a count and a few names. */
  private reportRefused(names: string[], reason: string): void {
    this.events.emit('things.refused', { count: names.length, sample: sample(names), reason });
  }

  /** Where the bridge stands with a Thing (the sandbox's table, diagnostics). */
  bindingOf(name: string): BindingState | undefined {
    if (this.taken.has(name)) return 'taken';
    if (this.refused.has(name)) return 'refused';
    if (this.unbound.has(name)) return 'unbound';
    if (this.bound.has(name)) return 'bound';
    return undefined;
  }

  /** Whether another session holds the Thing (taken from this bridge, or refused to it under "First in wins"). */
  heldElsewhere(name: string): boolean {
    return this.taken.has(name) || this.refused.has(name);
  }

  /** A pipe came up again and bound its Things: the next check takes new baselines. */
  pipeUp(): void {
    this.epoch += 1;
    this.marks.clear();
  }

  /**
   * New Things were bound: their baseline is read at once (a takeover right after would go unseen otherwise). A few
   * are read by name; many (or a directory that cannot read by name) take a listing of the whole template, which
   * with 100,000 Things is 100 pages: for every new device, that listing would run all the time.
   */
  private baselineSoon(names: readonly string[]): void {
    if (!this.checksOn || this.closed) return;
    for (const n of names) this.unmarked.add(n);
    if (this.baselining) return;
    this.baselining = true;
    void this.readBaselines();
  }

  private async readBaselines(): Promise<void> {
    const names = [...this.unmarked].filter((n) => this.bound.has(n) && !this.marks.has(n));
    this.unmarked.clear();
    const epoch = this.epoch;
    let states: Map<string, ThingConnection> | undefined;
    if (names.length > 0 && names.length <= BASELINE_BY_NAME && this.directory.connectionsOf) {
      states = await this.directory.connectionsOf(names, this.call).catch(() => undefined);
    }
    this.baselining = false;
    if (this.closed || names.length === 0) return;
    if (!states || epoch !== this.epoch || names.some((n) => !states.has(n))) {
      // too many, not readable by name (or some could not be read: the listing reports why), or a pipe came up
      // meanwhile: the whole listing takes the baselines
      if (this.checking) this.recheck = true;
      else void this.check(true);
      return;
    }
    for (const n of names) {
      const s = states.get(n);
      if (s?.connected && !this.marks.has(n) && this.bound.has(n)) this.marks.set(n, s.lastConnection);
    }
    if (this.unmarked.size > 0 && !this.baselining) this.baselineSoon([]);
  }

  private startChecks(): void {
    const every = this.options.bindCheckMs ?? 10_000;
    if (every <= 0 || this.closed || this.checksOn) return;
    // The first check right after the BINDs takes the baselines, before another session can bind the Things.
    const run = () => {
      // A check lists every Thing of the template (100 pages with 100,000 Things): it runs at most a tenth of the
      // time, so the period grows with the fleet where the listing takes longer than a tenth of it. Only the
      // listing is timed: the wait for a takeover's holder, and the BINDs after, do not space the checks out.
      const next = (listedMs: number) => {
        if (this.closed) return;
        this.checkTimer = setTimeout(run, Math.max(every, CHECK_DUTY * listedMs));
        this.checkTimer.unref();
      };
      void this.check().then(next, (err: unknown) => {
        next(0);
        throw err;
      });
    };
    this.checksOn = true;
    run();
  }

  /**
   * Verifies which Things the bridge still holds, now (also run every `bindCheckMs`); resolves with the time the
   * listing of the template's Things took (ms; 0 when there was none).
   */
  check(baselineOnly = false): Promise<number> {
    this.checking ??= this.checkOnce(baselineOnly).finally(() => {
      this.checking = undefined;
      // Things just bound again get their baseline at once, before another session can bind them unseen (that
      // check binds nothing: no loop without the interval between).
      if (this.recheck && !this.closed) {
        this.recheck = false;
        void this.check(true);
      }
    });
    return this.checking;
  }

  /** One check; returns the time its listing took (ms). */
  private async checkOnce(baselineOnly: boolean): Promise<number> {
    if (this.closed || !this.sink.isConnected()) return 0;
    const epoch = this.epoch;
    let states: Map<string, ThingConnection> | undefined;
    let listedMs = 0;
    if (this.directory.connections) {
      const t0 = Date.now();
      try {
        states = await this.directory.connections(this.options.template, this.call);
        this.checkFailed = false;
        if (states.size === 0 && this.bound.size + this.taken.size + this.refused.size > 0) {
          // The platform answered without the connection properties: refused Things are probed by BIND instead.
          if (!this.noView)
            this.events.emit('error', {
              where: 'bind check',
              error: 'ThingWorx listed no isConnected/lastConnection values: takeovers cannot be seen',
            });
          this.noView = true;
          states = undefined;
        }
      } catch (err) {
        // A check the stop cut short (its REST agent destroyed) failed for no reason worth a line.
        if (!this.checkFailed && !this.closed)
          this.events.emit('error', { where: 'bind check', error: (err as Error).message });
        this.checkFailed = true;
      }
      listedMs = Date.now() - t0;
    }
    if (this.closed || epoch !== this.epoch) return listedMs;
    const free: string[] = [];
    const newlyTaken: string[] = [];
    if (states) {
      for (const name of this.bound) {
        const s = states.get(name);
        if (!s) continue;
        if (!s.connected) {
          // Nobody holds it (the platform unbound it, or another session bound and released it): bind it again.
          free.push(name);
          continue;
        }
        const mark = this.marks.get(name);
        if (mark === undefined) this.marks.set(name, s.lastConnection);
        else if (s.lastConnection > mark) newlyTaken.push(name);
      }
    }
    if (newlyTaken.length) {
      const now = Date.now();
      for (const n of newlyTaken) {
        this.bound.delete(n);
        this.marks.delete(n);
        this.taken.set(n, now);
      }
      this.sink.forget?.(newlyTaken);
      const names = sample(newlyTaken);
      // without a lookup, no await: the check goes on in the same turn, as before holders could be named
      const holder = this.options.holderOf ? await this.holderOf(names) : undefined;
      this.events.emit('things.taken', { count: newlyTaken.length, sample: names, ...(holder ? { holder } : {}) });
    }
    if (baselineOnly) return listedMs;
    // Things held elsewhere: bound again only once their holder let them go (no fight), or once on purpose.
    const waiting = [...this.taken.keys(), ...this.refused.keys()];
    const released = states ? waiting.filter((n) => states.get(n)?.connected === false) : [...this.refused.keys()]; // without the REST view, a BIND is the probe (refused while held elsewhere)
    if (free.length) this.sink.forget?.(free);
    const recovered = await this.bindAgain([...released, ...free]);
    const back = recovered.filter((n) => !free.includes(n));
    if (back.length) this.events.emit('things.recovered', { count: back.length, sample: sample(back) });
    if (this.options.takeOver && !this.tookOver) {
      const held = [...this.taken.keys()].filter((n) => !recovered.includes(n));
      if (held.length) {
        this.tookOver = true;
        const took = await this.bindAgain(held);
        if (took.length) this.events.emit('things.took_over', { count: took.length, sample: sample(took) });
      }
    }
    return listedMs;
  }

  /**
   * The holder of Things just taken, from `holderOf`, waited for at most `holderWaitMs`: undefined without an answer
   * by then (the takeover is said without it), and when the lookup fails (not an error of the bridge: the caller's
   * lookup may say why).
   */
  private async holderOf(names: string[]): Promise<string | undefined> {
    const ask = this.options.holderOf;
    if (!ask) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), this.options.holderWaitMs ?? HOLDER_WAIT_MS);
      timer.unref();
    });
    try {
      return await Promise.race([
        Promise.resolve()
          .then(() => ask(names))
          .catch(() => undefined),
        bound,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** BINDs Things again; returns those now bound (refused ones stay or become `refused`). */
  private async bindAgain(names: string[]): Promise<string[]> {
    if (names.length === 0 || this.closed) return [];
    const ok: string[] = [];
    const refusedNow: string[] = [];
    let why = '';
    try {
      await this.bindBatches(names, (chunk, refused, reason) => {
        for (const n of chunk) {
          if (refused.has(n)) {
            if (!this.refused.has(n) && !this.taken.has(n)) refusedNow.push(n);
            if (!this.taken.has(n)) this.refused.set(n, reason ?? 'bind refused');
            why = reason ?? 'bind refused';
            continue;
          }
          this.taken.delete(n);
          this.refused.delete(n);
          this.bound.add(n);
          this.marks.delete(n);
          ok.push(n);
        }
      });
    } catch {
      // not connected now: the next check tries again
    }
    if (refusedNow.length) this.reportRefused(refusedNow, why);
    if (ok.length) this.recheck = true;
    return ok;
  }

  /**
   * Binds names in batches of `bindBatch` (one BIND each), `bindConcurrency` BINDs in flight, reporting each
   * batch's refused names as it comes back. The first failure stops it (no new BIND) and is thrown.
   */
  private async bindBatches(
    names: readonly string[],
    each: (chunk: readonly string[], refused: ReadonlySet<string>, reason?: string) => void,
  ): Promise<void> {
    const batch = this.options.bindBatch ?? 500;
    let next = 0;
    let failed = false;
    const lane = async () => {
      while (next < names.length && !failed) {
        const chunk = names.slice(next, next + batch);
        next += batch;
        try {
          const r = await this.sink.bind(chunk);
          each(chunk, new Set(r.refused), r.refused.length ? refusalReason(r) : undefined);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    const lanes = Math.max(1, Math.min(this.options.bindConcurrency ?? 4, Math.ceil(names.length / batch)));
    await Promise.all(Array.from({ length: lanes }, lane));
  }

  /** True when ensure() has nothing to do for the Thing (bound, or held elsewhere, or refused): no await needed. */
  settled(name: string): boolean {
    return this.bound.has(name) || this.taken.has(name) || this.refused.has(name);
  }

  /**
   * Makes sure the Thing exists and is bound; throws PermanentError when it cannot be, ever. A Thing another
   * session holds is not bound (no fight): its values are pushed all the same, and the bind check binds it once
   * it is free. `stillValid` (a fleet report's lease) is asked before the BIND goes and again right before it is
   * written: false withdraws it (BindWithdrawnError or the sink's own error, nothing sent).
   */
  async ensure(name: string, stillValid?: () => boolean): Promise<void> {
    if (this.settled(name)) return;
    if (!this.known.has(name)) {
      let p = this.creating.get(name);
      if (!p) {
        if (this.known.size + this.creating.size >= this.options.maxDevices) {
          this.events.emit('thing.refused', { thing: name, reason: 'device limit reached' });
          throw new DeviceLimitError(this.options.maxDevices);
        }
        p = this.create(name).finally(() => this.creating.delete(name));
        this.creating.set(name, p);
      }
      await p;
    }
    await this.bindCoalesced(name, stillValid);
  }

  private async create(name: string): Promise<void> {
    await this.slot();
    try {
      const template = this.options.templateFor?.(name) ?? this.options.template;
      const r = await this.directory.create(name, template, this.call);
      this.known.add(name);
      if (r === 'created') this.events.emit('thing.created', { thing: name, template });
    } catch (err) {
      if (err instanceof PermanentError) this.events.emit('thing.refused', { thing: name, reason: err.message });
      throw err;
    } finally {
      this.release();
    }
  }

  private slot(): Promise<void> {
    if (this.createSlots > 0) {
      this.createSlots -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.createWaiters.push(resolve));
  }

  private release(): void {
    const next = this.createWaiters.shift();
    if (next) next();
    else this.createSlots += 1;
  }

  /** Binds names asked for in the same turn with one BIND per batch. */
  private bindCoalesced(name: string, stillValid: (() => boolean) | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      this.bindQueue.push({ name, stillValid, resolve, reject });
      if (this.bindScheduled) return;
      this.bindScheduled = true;
      setImmediate(() => void this.flushBinds());
    });
  }

  private async flushBinds(): Promise<void> {
    this.bindScheduled = false;
    const all = this.bindQueue;
    this.bindQueue = [];
    const batch = this.options.bindBatch ?? 500;
    for (let i = 0; i < all.length; i += batch) {
      // withdrawn meanwhile (a fleet report whose queue was lost, or whose lease lapsed): not bound
      const chunk = all.slice(i, i + batch).filter((c) => {
        if (!c.stillValid || c.stillValid()) return true;
        c.reject(new BindWithdrawnError(c.name));
        return false;
      });
      const names = [...new Set(chunk.map((c) => c.name).filter((n) => !this.bound.has(n)))];
      const epochs = names.map((n) => this.releases.get(n) ?? 0);
      // and asked again right before the BIND is written (it may wait, or the process be paused, in between)
      const checks = chunk.flatMap((c) => (c.stillValid ? [c.stillValid] : []));
      const options = checks.length > 0 ? { stillValid: () => checks.every((f) => f()) } : undefined;
      try {
        const r = names.length ? await this.sink.bind(names, options) : { refused: [] as string[], reason: undefined };
        const refused = new Set(r.refused);
        // released (a fleet queue handed over) while the BIND was on its way: undo it, do not count it as bound
        const stale = names.filter((n, k) => !refused.has(n) && (this.releases.get(n) ?? 0) !== epochs[k]);
        if (stale.length) void this.sink.unbind(stale).catch(() => undefined);
        for (const n of names) if (!refused.has(n) && !stale.includes(n)) this.bound.add(n);
        if (names.length > refused.size) this.baselineSoon(names.filter((n) => this.bound.has(n)));
        const held = r.status !== 0x84;
        const why = refusalReason(r);
        if (held && refused.size) {
          // First in wins: another session holds them. Pushed all the same; bound once it lets go.
          for (const n of refused) this.refused.set(n, why);
          this.reportRefused([...refused], why);
        }
        for (const c of chunk) {
          if (refused.has(c.name) && !held) c.reject(new StubbornError(`ThingWorx refused to bind ${c.name}: ${why}`));
          else c.resolve();
        }
      } catch (err) {
        for (const c of chunk) c.reject(err as Error);
      }
    }
  }

  /**
   * Things the platform refused to bind again after a pipe reconnected (a ghost session holding them under "First in
   * wins"). Pushes still reach them (a push needs no binding), but writes of `downlink` do not: they are bound again
   * every `rebindRetryMs` until the platform accepts.
   */
  lostBinds(names: string[], reason: string): void {
    const lost = names.filter((n) => this.bound.has(n));
    if (lost.length === 0) return;
    for (const n of lost) this.unbound.add(n);
    this.events.emit('things.unbound', {
      count: lost.length,
      names: lost.slice(0, 10),
      reason,
      retryInMs: this.rebindRetryMs,
    });
    this.scheduleRebind();
  }

  /** Things not bound to this bridge: refused on a re-bind after a reconnect, taken, or refused. */
  get unboundCount(): number {
    let n = this.taken.size + this.refused.size;
    for (const t of this.unbound) if (!this.taken.has(t) && !this.refused.has(t)) n += 1;
    return n;
  }

  private scheduleRebind(): void {
    if (this.rebindTimer || this.closed || this.unbound.size === 0) return;
    this.rebindTimer = setTimeout(() => void this.rebind(), this.rebindRetryMs);
    this.rebindTimer.unref();
  }

  private get rebindRetryMs(): number {
    return this.options.rebindRetryMs ?? 30_000;
  }

  private async rebind(): Promise<void> {
    // Names stay in `unbound` until a BIND takes them; a failed call (not connected now) leaves the rest for next time.
    const names = [...this.unbound].filter((n) => this.bound.has(n));
    let count = 0;
    await this.bindBatches(names, (chunk, refused) => {
      for (const n of chunk) {
        if (refused.has(n)) continue;
        this.unbound.delete(n);
        count += 1;
      }
    }).catch(() => undefined);
    this.rebindTimer = undefined;
    if (names.length) this.events.emit('things.rebound', { count, remaining: this.unbound.size });
    this.scheduleRebind();
  }

  /** What each directory call is given: the signal that close() aborts. */
  private get call(): { signal: AbortSignal } {
    return { signal: this.stopCtl.signal };
  }

  /**
   * Stops binding again and checking (shutdown), and aborts the REST calls in flight (a CreateThing, the bind check's
   * listing): they reject with a StoppedError, their reports stay in the spool.
   */
  close(): void {
    if (!this.closed) this.stopCtl.abort(new StoppedError());
    this.closed = true;
    clearTimeout(this.rebindTimer);
    this.rebindTimer = undefined;
    clearTimeout(this.checkTimer);
    this.checkTimer = undefined;
  }

  /** Forgets what is known of a Thing (after a failure that suggests it was deleted or unbound). */
  forget(name: string): void {
    this.bound.delete(name);
    this.unbound.delete(name);
    this.taken.delete(name);
    this.refused.delete(name);
    this.marks.delete(name);
    this.known.delete(name);
  }

  /**
   * Things this bridge no longer owns (a fleet queue handed over or lost): forgotten as bound at once, so nothing
   * binds or pushes them as bound; unbound on the pipes when they are up (`wait` false: not awaited, fenced).
   */
  async releaseThings(names: readonly string[], wait = true): Promise<void> {
    for (const n of names) this.releases.set(n, (this.releases.get(n) ?? 0) + 1);
    const held = names.filter((n) => this.bound.has(n));
    for (const n of held) {
      this.bound.delete(n);
      this.unbound.delete(n);
    }
    if (held.length === 0) return;
    // down: the platform unbound them with the session; the pipe must not bind them again when it reconnects
    if (!this.sink.isConnected()) {
      this.sink.forget?.(held);
      return;
    }
    const batch = this.options.bindBatch ?? 500;
    const calls: Promise<void>[] = [];
    for (let i = 0; i < held.length; i += batch) calls.push(this.sink.unbind(held.slice(i, i + batch)));
    const all = Promise.all(calls).then(() => undefined);
    if (wait) await all;
    else all.catch(() => undefined);
  }

  /** Unbinds every bound Thing (shutdown). */
  async unbindAll(): Promise<void> {
    const names = [...this.bound];
    const batch = this.options.bindBatch ?? 500;
    for (let i = 0; i < names.length; i += batch) await this.sink.unbind(names.slice(i, i + batch));
    this.bound.clear();
  }
}

/**
 * Why a BIND was refused, in a few words (never the list of names: the platform's text quotes the whole
 * V1BindMessage, thousands of names).
 */
function refusalReason(r: { reason?: string; status?: number | null }): string {
  if (r.status === 0x84) return 'not Remote Things on ThingWorx';
  if (r.reason && /visib/i.test(r.reason)) return "not visible to the key's user";
  return 'held by another session ("First in wins")';
}
