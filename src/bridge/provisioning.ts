/**
 * Things per device: known Things (listed at start with paging) are bound at start; a new DevEUI gets its Thing
 * created from the template on first report (CreateThing, EnableThing, RestartThing), then bound. The device cap
 * refuses new devices for good (the report goes to the dead-letter table).
 */
import type { BridgeEvents } from './events.js';
import { PermanentError, StubbornError, type ThingDirectory, type ThingWorxSink } from './ports.js';

export interface ProvisionerOptions {
  template: string;
  maxDevices: number;
  /** Names per BIND message (Actility's connector timed out binding ~5K at once). Default 500. */
  bindBatch?: number;
  /** Concurrent Thing creations. Default 8. */
  createConcurrency?: number;
  /** How often Things refused on a re-bind after a reconnect are bound again, ms. Default 30 000. */
  rebindRetryMs?: number;
  /** The template of a new Thing when it is not `template` (a device whose payload driver has its own). */
  templateFor?: (name: string) => string | undefined;
  /** Bind the template's Things at start (default true); a fleet bridge binds only the Things of its queues. */
  bindKnown?: boolean;
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
  private bindQueue: { name: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  private bindScheduled = false;
  /** Things refused when bound again after a reconnect: still pushed to, bound again by a timer. */
  private readonly unbound = new Set<string>();
  private rebindTimer: NodeJS.Timeout | undefined;
  private closed = false;
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
    const { names, pages } = await this.directory.list(this.options.template);
    for (const n of names) this.known.add(n);
    this.events.emit('things.listed', { count: names.length, pages });
    if (this.options.bindKnown === false) return;
    await this.bindBatches(names, (chunk, refused, reason) => {
      for (const n of chunk) if (!refused.has(n)) this.bound.add(n);
      for (const n of refused) this.events.emit('thing.refused', { thing: n, reason: reason ?? 'bind refused' });
    });
    this.events.emit('things.bound', { count: this.bound.size });
  }

  /** Binds names in batches of `bindBatch` (one BIND each), reporting each batch's refused names as it goes. */
  private async bindBatches(
    names: readonly string[],
    each: (chunk: readonly string[], refused: ReadonlySet<string>, reason?: string) => void,
  ): Promise<void> {
    const batch = this.options.bindBatch ?? 500;
    for (let i = 0; i < names.length; i += batch) {
      const chunk = names.slice(i, i + batch);
      const r = await this.sink.bind(chunk);
      each(chunk, new Set(r.refused), r.reason);
    }
  }

  /** Makes sure the Thing exists and is bound; throws PermanentError when it cannot be, ever. */
  async ensure(name: string): Promise<void> {
    if (this.bound.has(name)) return;
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
    await this.bindCoalesced(name);
  }

  private async create(name: string): Promise<void> {
    await this.slot();
    try {
      const template = this.options.templateFor?.(name) ?? this.options.template;
      const r = await this.directory.create(name, template);
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
  private bindCoalesced(name: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.bindQueue.push({ name, resolve, reject });
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
      const chunk = all.slice(i, i + batch);
      const names = [...new Set(chunk.map((c) => c.name).filter((n) => !this.bound.has(n)))];
      const epochs = names.map((n) => this.releases.get(n) ?? 0);
      try {
        const r = names.length ? await this.sink.bind(names) : { refused: [] as string[], reason: undefined };
        const refused = new Set(r.refused);
        // released (a fleet queue handed over) while the BIND was on its way: undo it, do not count it as bound
        const stale = names.filter((n, k) => !refused.has(n) && (this.releases.get(n) ?? 0) !== epochs[k]);
        if (stale.length) void this.sink.unbind(stale).catch(() => undefined);
        for (const n of names) if (!refused.has(n) && !stale.includes(n)) this.bound.add(n);
        for (const c of chunk) {
          if (refused.has(c.name))
            c.reject(new StubbornError(`ThingWorx refused to bind ${c.name}: ${r.reason ?? 'bind refused'}`));
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

  /** Things waiting to be bound again. */
  get unboundCount(): number {
    return this.unbound.size;
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

  /** Stops binding again (shutdown). */
  close(): void {
    this.closed = true;
    clearTimeout(this.rebindTimer);
    this.rebindTimer = undefined;
  }

  /** Forgets what is known of a Thing (after a failure that suggests it was deleted or unbound). */
  forget(name: string): void {
    this.bound.delete(name);
    this.unbound.delete(name);
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
    if (held.length === 0 || !this.sink.isConnected()) return;
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
