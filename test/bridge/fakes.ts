/** In-memory fakes of the bridge's ports. */
import type { TwValue } from '../../src/alwayson/codec/types.js';
import {
  type DownlinkRequest,
  type DownlinkResult,
  type DownlinkSender,
  PermanentError,
  type PropertyUpdate,
  type PropertyWrite,
  type SinkStatus,
  type ThingConnection,
  type ThingDirectory,
  type ThingWorxSink,
} from '../../src/bridge/ports.js';

export class FakeSink implements ThingWorxSink {
  connected = true;
  readonly pipeCount = 1;
  readonly bound = new Set<string>();
  readonly bindCalls: string[][] = [];
  readonly pushes: { thing: string; values: PropertyUpdate[] }[] = [];
  /** When set, push() fails with this error (transient). */
  failWith: Error | undefined;
  private writeHandler: ((w: PropertyWrite) => Promise<void>) | undefined;
  private statusHandler: ((s: SinkStatus) => void) | undefined;
  private pushListeners: (() => void)[] = [];
  closed = false;

  async start(): Promise<void> {
    this.starts += 1;
    if (this.startError) throw this.startError;
    if (!this.connected) throw new Error('ThingWorx unreachable');
  }
  /** Names the platform refuses to bind. */
  refuseBind = new Set<string>();
  /** The AlwaysOn status of a refused BIND (0x83 held elsewhere, 0x84 not a Remote Thing). */
  refuseStatus: number | undefined;
  /** Names forgotten (another session took them). */
  readonly forgotten: string[] = [];
  async bind(names: string[]): Promise<{ refused: string[]; reason?: string; status?: number | null }> {
    if (!this.connected) throw new Error('not connected');
    this.bindCalls.push(names);
    const refused = names.filter((n) => this.refuseBind.has(n));
    for (const n of names) if (!this.refuseBind.has(n)) this.bound.add(n);
    return refused.length ? { refused, reason: 'Binding failed', status: this.refuseStatus } : { refused };
  }
  forget(names: string[]): void {
    this.forgotten.push(...names);
  }
  async unbind(names: string[]): Promise<void> {
    for (const n of names) this.bound.delete(n);
  }
  async push(thing: string, values: PropertyUpdate[]): Promise<void> {
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    if (!this.connected) throw new Error('not connected');
    if (!this.bound.has(thing)) throw new Error(`${thing} is not bound`);
    this.pushes.push({ thing, values });
    for (const l of this.pushListeners.splice(0)) l();
  }
  onPropertyWrite(handler: (w: PropertyWrite) => Promise<void>): void {
    this.writeHandler = handler;
  }
  onStatus(handler: (s: SinkStatus) => void): void {
    this.statusHandler = handler;
  }
  isConnected(): boolean {
    return this.connected;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  /** Reports a status as the pool adapter would (any SinkStatus: protocol errors, ping timeouts, failures…). */
  status(s: SinkStatus): void {
    this.statusHandler?.(s);
  }
  /** When set, start() fails with this error. */
  startError: Error | undefined;
  /** Times start() was called. */
  starts = 0;
  /** Simulates an outage / recovery. */
  setConnected(up: boolean): void {
    this.connected = up;
    this.statusHandler?.({ type: up ? 'up' : 'down' });
  }
  write(thing: string, property: string, value: TwValue): Promise<void> {
    if (!this.writeHandler) throw new Error('no write handler');
    return this.writeHandler({ thing, property, value });
  }
  /** Values pushed for a Thing's property, in order. */
  valuesOf(thing: string, name: string): TwValue[] {
    return this.pushes
      .filter((p) => p.thing === thing)
      .flatMap((p) => p.values.filter((v) => v.name === name).map((v) => v.value));
  }
  /** Resolves once `n` pushes have happened in total. */
  async waitForPushes(n: number): Promise<void> {
    while (this.pushes.length < n) await new Promise<void>((r) => this.pushListeners.push(r));
  }
}

export class FakeDirectory implements ThingDirectory {
  readonly things = new Set<string>();
  /** When set, connections() answers with it (the bind check's view of ThingWorx). */
  view: Map<string, ThingConnection> | undefined;
  connectionCalls = 0;
  async connections(_template: string): Promise<Map<string, ThingConnection>> {
    this.connectionCalls += 1;
    if (!this.view) return new Map();
    return new Map(this.view);
  }
  /** Names read by connectionsOf (the baselines of Things just bound); unset: the directory cannot read by name. */
  byName: string[][] | undefined = [];
  get connectionsOf(): ThingDirectory['connectionsOf'] {
    if (!this.byName) return undefined;
    return async (names) => {
      this.byName?.push([...names]);
      const out = new Map<string, ThingConnection>();
      for (const n of names) {
        const v = this.view?.get(n);
        if (v) out.set(n, v);
      }
      return out;
    };
  }
  readonly created: string[] = [];
  refuse = new Set<string>();
  listPages = 1;
  async list(_template: string): Promise<{ names: string[]; pages: number }> {
    return { names: [...this.things], pages: this.listPages };
  }
  async create(name: string, _template: string): Promise<'created' | 'exists'> {
    if (this.refuse.has(name)) throw new PermanentError(`CreateThing ${name} refused (403)`);
    if (this.things.has(name)) return 'exists';
    this.things.add(name);
    this.created.push(name);
    return 'created';
  }
}

export class FakeSender implements DownlinkSender {
  readonly sent: DownlinkRequest[] = [];
  next: DownlinkResult = { result: 'queued', status: 202 };
  async send(request: DownlinkRequest): Promise<DownlinkResult> {
    this.sent.push(request);
    return this.next;
  }
}
