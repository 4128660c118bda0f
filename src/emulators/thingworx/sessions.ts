/**
 * AlwaysOn sessions (live WebSockets and "ghost" sessions that only hold binds), the Bind Protection Policy
 * and the WSCommunicationsSubsystem view of endpoints (research/alwayson.md §6.2, §10, §14).
 */
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { EdgeResponse } from './edge-requests.js';
import type { AppKey, Binder, Store, Thing, User } from './model.js';
import type { Platform } from './platform.js';

export interface PendingRequest {
  resolve: (r: EdgeResponse) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class Session implements Binder {
  readonly endpoint = randomUUID();
  readonly bound = new Set<string>();
  readonly startDate = Date.now();
  lastUsedDate = Date.now();
  user: User | undefined;
  key: AppKey | undefined;
  readonly pending = new Map<number, PendingRequest>();
  /** Things another session bound away from this one (Last in wins), while that one holds them. */
  readonly lost = new Set<string>();
  closed = false;

  constructor(
    readonly sessionId: number,
    readonly endpointId: number,
    readonly ws: WebSocket | null,
    /** Largest frame the edge accepts (its Max-Frame-Size header, capped at 8192). */
    readonly chunkSize = 8192,
  ) {}

  get ghost(): boolean {
    return this.ws === null;
  }

  /** host:port of the edge's socket (the emulator's QueryEndpointSessions reports it; ThingWorx: UNCONFIRMED). */
  get remoteAddress(): string | undefined {
    const sock = (this.ws as unknown as { _socket?: { remoteAddress?: string; remotePort?: number } } | null)?._socket;
    return sock?.remoteAddress ? `${sock.remoteAddress}:${sock.remotePort}` : undefined;
  }
}

/**
 * How a BIND holding some names the platform cannot bind is answered (UNCONFIRMED, research/alwayson.md §14):
 * 'whole-message' (default) refuses the whole message and binds none of its names, which is what the real platform
 * is believed to do (its "Binding failed" text quotes the whole V1BindMessage); 'per-name' binds every name it can
 * and refuses only the others (the answer is still an error naming them).
 */
export type BindRefusal = 'whole-message' | 'per-name';

export interface BindOutcome {
  ok: boolean;
  /** Names that were already bound elsewhere (First-in-wins) or missing. */
  rejected: string[];
  reason: 'bound' | 'missing' | 'visibility' | null;
  /** Names bound by this BIND (all of them when ok; with 'per-name', the others than `rejected`). */
  bound: string[];
  /** Previous holders whose binds moved here (Last-in-wins). */
  takenFrom: Map<Session, string[]>;
}

export class SessionRegistry {
  readonly sessions = new Map<number, Session>();
  private nextSessionId: number;
  private nextEndpointId: number;
  private readonly remoteCache = new Map<string, boolean>();
  /** How a BIND with names that cannot be bound is answered (see BindRefusal). */
  refusal: BindRefusal = 'whole-message';

  constructor(
    private readonly store: Store,
    private readonly platform: Platform,
    ids: { sessionId?: number; endpointId?: number } = {},
  ) {
    this.nextSessionId = ids.sessionId ?? 1 + Math.floor(Math.random() * 0x3fffffff);
    this.nextEndpointId = ids.endpointId ?? 1 + Math.floor(Math.random() * 0x3fffffff);
  }

  create(ws: WebSocket | null, chunkSize?: number): Session {
    const s = new Session(this.nextSessionId++ >>> 0, this.nextEndpointId++ >>> 0, ws, chunkSize);
    this.sessions.set(s.sessionId, s);
    return s;
  }

  private isRemote(template: string): boolean {
    let r = this.remoteCache.get(template);
    if (r === undefined) {
      r = this.store.isDerivedFrom(template, 'RemoteThing');
      this.remoteCache.set(template, r);
    }
    return r;
  }

  /** BIND: all names or none ('whole-message'), or each name that can be ('per-name'). O(names). */
  bind(session: Session, names: string[], now = Date.now()): BindOutcome {
    this.remoteCache.clear();
    const policy = this.store.subsystem.bindProtectionPolicy;
    const checkVisibility = this.store.subsystem.enableVisibilityPermissionCheck && session.user !== undefined;
    const things: Thing[] = [];
    const missing: string[] = [];
    const invisible: string[] = [];
    const busy: string[] = [];
    for (const name of names) {
      let t = this.store.things.get(name);
      if (!t && this.store.subsystem.autoCreateThingsOnBind)
        t = this.store.addThing(name, 'RemoteThing', session.user?.name ?? 'System');
      if (!t || !this.isRemote(t.template)) {
        missing.push(name);
        continue;
      }
      if (checkVisibility && !this.platform.access.canSee(session.user!, 'Things', t.name, t.owner)) {
        invisible.push(name);
        continue;
      }
      if (t.boundTo && t.boundTo !== session && policy === 'first-in-wins') {
        busy.push(name);
        continue;
      }
      things.push(t);
    }
    const reason: BindOutcome['reason'] = missing.length
      ? 'missing'
      : invisible.length
        ? 'visibility'
        : busy.length
          ? 'bound'
          : null;
    const rejected = [...missing, ...invisible, ...busy];
    const takenFrom = new Map<Session, string[]>();
    if (reason && this.refusal === 'whole-message') {
      const shown = reason === 'missing' ? missing : reason === 'visibility' ? invisible : busy;
      return { ok: false, rejected: shown, reason, bound: [], takenFrom };
    }
    for (const t of things) this.take(session, t, now, takenFrom);
    return { ok: reason === null, rejected, reason, bound: things.map((t) => t.name), takenFrom };
  }

  /** Binds one Thing to `session`, noting the previous holder it is taken from (Last-in-wins). */
  private take(session: Session, t: Thing, now: number, takenFrom: Map<Session, string[]>): void {
    const prev = t.boundTo as Session | null;
    if (prev && prev !== session) {
      prev.bound.delete(t.name);
      prev.lost.add(t.name);
      let l = takenFrom.get(prev);
      if (!l) {
        l = [];
        takenFrom.set(prev, l);
      }
      l.push(t.name);
    }
    t.boundTo = session;
    t.lastConnection = now;
    session.bound.add(t.name);
    session.lost.delete(t.name);
  }

  /** Whether `session` lost this Thing to another session that still holds it (Last-in-wins). */
  lostTo(session: Session, thing: string): boolean {
    if (!session.lost.has(thing)) return false;
    const t = this.store.things.get(thing);
    if (t?.boundTo && t.boundTo !== session) return true;
    session.lost.delete(thing);
    return false;
  }

  /** UNBIND the names this session holds; returns the names actually unbound. */
  unbind(session: Session, names: Iterable<string>): string[] {
    const out: string[] = [];
    for (const name of names) {
      if (!session.bound.delete(name)) continue;
      const t = this.store.things.get(name);
      if (t && t.boundTo === session) t.boundTo = null;
      out.push(name);
    }
    return out;
  }

  /** Forgets a session: its binds are released and pending requests fail. */
  remove(session: Session, reason: string): string[] {
    if (session.closed) return [];
    session.closed = true;
    this.sessions.delete(session.sessionId);
    const names = this.unbind(session, [...session.bound]);
    for (const [, p] of session.pending) {
      clearTimeout(p.timer);
      p.reject(new Error(reason));
    }
    session.pending.clear();
    return names;
  }

  /** A session without a socket holding binds (a "connection ghost"). */
  ghost(names: string[], keyName?: string, dates?: { startDate?: string; lastUsedDate?: string }): Session {
    const s = this.create(null);
    const key = keyName ? this.store.appKeys.get(keyName) : undefined;
    s.key = key;
    s.user = key ? this.store.users.get(key.user) : undefined;
    if (dates?.lastUsedDate) s.lastUsedDate = Date.parse(dates.lastUsedDate) || s.lastUsedDate;
    if (dates?.startDate) (s as { startDate: number }).startDate = Date.parse(dates.startDate) || s.startDate;
    const policy = this.store.subsystem;
    const saved = policy.bindProtectionPolicy;
    policy.bindProtectionPolicy = 'last-in-wins';
    try {
      const names2 = names.filter((n) => {
        if (this.store.things.has(n)) return true;
        this.store.addThing(n, 'RemoteThing', s.user?.name ?? 'Administrator');
        return true;
      });
      this.bind(s, names2);
    } finally {
      policy.bindProtectionPolicy = saved;
    }
    return s;
  }

  find(endpoint: string): Session | undefined {
    for (const s of this.sessions.values()) if (s.endpoint === endpoint || String(s.sessionId) === endpoint) return s;
    return undefined;
  }
}
