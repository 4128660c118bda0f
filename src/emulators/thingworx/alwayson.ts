/**
 * The AlwaysOn endpoint (/Thingworx/WS): AUTH within the deadline, BIND/UNBIND under the Bind Protection Policy,
 * property pushes, edge service calls, platform -> edge PUTs, multipart both ways, idle timeout.
 * Uses only the codec (never the client).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import {
  type BindBody,
  type InfoTable,
  infoTableFromValues,
  MESSAGE_CODES,
  type Message,
  type MessageCodeName,
  Reassembler,
  type RequestBody,
  splitMessage,
  type TwValue,
} from '../../alwayson/codec/index.js';
import { bindFailureText, CODE_TO_HTTP, codeForStatus } from './codes.js';
import { type EdgeRequest, EdgeRequester, type EdgeResponse, modelStateParams } from './edge-requests.js';
import { handleEdgeRequest } from './incoming.js';
import type { Thing } from './model.js';
import { PlatformError } from './permissions.js';
import type { EdgeGateway, Platform, SessionControl, SessionView } from './platform.js';
import { type Session, SessionRegistry } from './sessions.js';

/** What the platform sends to each Thing after a BIND: nothing (default), NotifyPropertyUpdate or SynchronizeModelState. */
export type SyncOnBind = 'NotifyPropertyUpdate' | 'SynchronizeModelState' | null;

/**
 * What a session that lost Things to a newer BIND (Last-in-wins) experiences; the real platform's behaviour is
 * UNCONFIRMED (research/alwayson.md §14, §18.2). `pushes`: 'accept' (default: a push needs no binding) or 'refuse'
 * (0x83 "bound to another session"). `notice`: 'none' (default: the old socket stays open and silent) or 'unbind'
 * (the platform sends the old session an UNBIND naming the Things).
 */
export interface LostBindBehaviour {
  pushes: 'accept' | 'refuse';
  notice: 'none' | 'unbind';
}

export interface AlwaysOnOptions {
  syncOnBind?: SyncOnBind;
  lostBinds?: Partial<LostBindBehaviour>;
  ids?: { sessionId?: number; endpointId?: number; requestId?: number };
}

export class AlwaysOnEndpoint implements EdgeGateway, SessionControl {
  readonly registry: SessionRegistry;
  readonly wss: WebSocketServer;
  rejectAuth = false;
  syncOnBind: SyncOnBind = null;
  readonly lostBinds: LostBindBehaviour = { pushes: 'accept', notice: 'none' };
  private readonly requester: EdgeRequester;
  private noticeId = 0x7f000000;

  constructor(
    private readonly platform: Platform,
    options: AlwaysOnOptions,
  ) {
    this.registry = new SessionRegistry(platform.store, platform, options.ids ?? {});
    this.requester = new EdgeRequester(
      (s, m) => this.send(s, m),
      options.ids?.requestId ?? 1,
      () => platform.edgeRequestTimeoutMs,
    );
    this.syncOnBind = options.syncOnBind ?? null;
    Object.assign(this.lostBinds, options.lostBinds ?? {});
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 2 * 1024 * 1024, perMessageDeflate: false });
    platform.edge = this;
    platform.sessions = this;
    // RestartThing makes the platform synchronise a bound Thing again (§12.4).
    platform.events.on('restart', (e: { thing: string }) => {
      const t = platform.store.things.get(e.thing);
      const live = t ? this.liveSession(t) : undefined;
      if (live) this.synchronise(live, [e.thing]);
    });
  }

  list(): SessionView[] {
    return [...this.registry.sessions.values()];
  }

  close(endpoint: string): boolean {
    const s = this.registry.find(endpoint);
    if (!s) return false;
    const names = this.registry.remove(s, 'session closed by an administrator');
    s.ws?.terminate();
    if (names.length) this.events.emit('unbind', { sessionId: s.sessionId, names, reason: 'closedByAdmin' });
    return true;
  }

  get events() {
    return this.platform.events;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const headerKey = req.headers.appkey ?? req.headers.applicationkey;
    if (headerKey !== undefined && !this.platform.store.userForKey(String(headerKey))) {
      socket.end(
        'HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nInvalid Application Key',
      );
      return;
    }
    const frame = Number(req.headers['max-frame-size']);
    const chunkSize = Number.isInteger(frame) && frame >= 64 ? Math.min(frame, 8192) : 8192;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, chunkSize));
  }

  private accept(ws: WebSocket, chunkSize: number): void {
    const s = this.registry.create(ws, chunkSize);
    const reassembler = new Reassembler();
    const authTimer = setTimeout(
      () => this.closeSocket(s, 1008, 'No AUTH message received'),
      this.platform.store.subsystem.authWaitTime * 1000,
    );
    const idleTimer = setTimeout(
      () => this.closeSocket(s, 1001, 'Idle connection timeout'),
      this.platform.store.subsystem.idleConnectionTimeout * 1000,
    );
    authTimer.unref();
    idleTimer.unref();
    this.events.emit('connection', { sessionId: s.sessionId });
    ws.on('ping', () => {
      s.lastUsedDate = Date.now();
      idleTimer.refresh();
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      idleTimer.refresh();
      if (!isBinary) return;
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      let msg: Message | null;
      try {
        msg = reassembler.push(buf);
      } catch (err) {
        this.events.emit('protocolError', { sessionId: s.sessionId, error: err });
        if (buf.length >= 15 && buf[1]! < 0x40)
          this.send(
            s,
            this.response(buf[1]!, buf.readUInt32BE(2), buf.readUInt32BE(6), s, 'BAD_REQUEST', (err as Error).message),
          );
        return;
      }
      if (!msg) return;
      if (msg.header.code !== 'AUTH' && !s.user) {
        this.closeSocket(s, 1008, 'Not authenticated');
        return;
      }
      if (msg.header.code !== 'AUTH') s.lastUsedDate = Date.now();
      if (msg.header.code === 'AUTH') clearTimeout(authTimer);
      void this.dispatch(s, msg);
    });
    ws.on('close', () => {
      clearTimeout(authTimer);
      clearTimeout(idleTimer);
      const names = this.registry.remove(s, 'connection closed');
      this.events.emit('disconnect', { sessionId: s.sessionId });
      if (names.length) this.events.emit('unbind', { sessionId: s.sessionId, names, reason: 'closed' });
    });
    ws.on('error', () => {});
  }

  closeSocket(s: Session, code: number, reason: string): void {
    if (s.ws && s.ws.readyState === s.ws.OPEN) s.ws.close(code, reason);
  }

  dropAllSockets(): void {
    for (const s of [...this.registry.sessions.values()]) s.ws?.terminate();
  }

  private response(
    _reqCode: number,
    requestId: number,
    endpointId: number,
    s: Session,
    code: MessageCodeName,
    reason: string | null,
    content: InfoTable | null = null,
  ): Message {
    return {
      header: {
        version: 1,
        code,
        codeValue: MESSAGE_CODES[code],
        requestId,
        endpointId,
        sessionId: s.sessionId,
        multipart: null,
      },
      body: { kind: 'response', reason, content },
    };
  }

  private send(s: Session, m: Message): void {
    if (!s.ws || s.ws.readyState !== s.ws.OPEN) return;
    for (const f of splitMessage(m, s.chunkSize)) s.ws.send(f);
  }

  private async reply(
    s: Session,
    req: Message,
    code: MessageCodeName,
    reason: string | null,
    content: InfoTable | null = null,
  ) {
    if (this.platform.delayMs > 0) await new Promise((r) => setTimeout(r, this.platform.delayMs));
    if (this.platform.failStatus !== null && req.header.code !== 'AUTH') {
      code = codeForStatus(this.platform.failStatus);
      reason = `Injected failure ${this.platform.failStatus}`;
      content = null;
    }
    this.send(
      s,
      this.response(req.header.codeValue, req.header.requestId, req.header.endpointId, s, code, reason, content),
    );
  }

  private async dispatch(s: Session, m: Message): Promise<void> {
    const body = m.body;
    try {
      if (body.kind === 'auth') return await this.auth(s, m, body.claims);
      if (body.kind === 'bind' || body.kind === 'unbind') return await this.bindOrUnbind(s, m);
      if (body.kind === 'response') {
        this.requester.onResponse(s, m);
        return;
      }
      if (body.kind === 'request') return await this.request(s, m, body);
    } catch (err) {
      if (body.kind === 'response') return;
      const status = err instanceof PlatformError ? err.status : 500;
      await this.reply(s, m, codeForStatus(status), err instanceof Error ? err.message : String(err));
    }
  }

  private async auth(s: Session, m: Message, claims: Record<string, string>): Promise<void> {
    const store = this.platform.store;
    const found = this.rejectAuth
      ? undefined
      : claims.appKey !== undefined
        ? store.userForKey(claims.appKey)
        : store.userForPassword(claims.userid ?? claims.user ?? claims.username, claims.password);
    this.events.emit('auth', {
      sessionId: s.sessionId,
      ok: Boolean(found),
      keyName: found?.key?.name,
      user: found?.user.name,
    });
    if (!found) {
      await this.reply(s, m, 'UNAUTHORIZED', 'Authentication failed: invalid or expired application key');
      this.closeSocket(s, 1008, 'Authentication failed');
      return;
    }
    s.user = found.user;
    s.key = found.key ?? undefined;
    await this.reply(s, m, 'SUCCESS', null);
  }

  private async bindOrUnbind(s: Session, m: Message): Promise<void> {
    const body = m.body as BindBody;
    if (body.kind === 'unbind') {
      const names = this.registry.unbind(s, body.names);
      this.events.emit('unbind', { sessionId: s.sessionId, names, reason: 'unbind' });
      return this.reply(s, m, 'SUCCESS', null);
    }
    if (this.platform.failStatus !== null) return this.reply(s, m, 'SUCCESS', null);
    const out = this.registry.bind(s, body.names);
    for (const [prev, names] of out.takenFrom) {
      this.events.emit('unbind', { sessionId: prev.sessionId, names, reason: 'takeover', by: s.sessionId });
      if (this.lostBinds.notice === 'unbind') this.sendUnbind(prev, names);
    }
    if (out.bound.length) this.events.emit('bind', { sessionId: s.sessionId, names: out.bound });
    if (!out.ok) {
      this.events.emit('bindRejected', {
        sessionId: s.sessionId,
        names: body.names,
        rejected: out.rejected,
        reason: out.reason,
      });
      const code = out.reason === 'missing' ? 'NOT_FOUND' : 'FORBIDDEN';
      // 'whole-message' quotes every name of the message (the reference document's text); 'per-name' the refused.
      const quoted = this.registry.refusal === 'per-name' ? out.rejected : body.names;
      await this.reply(s, m, code, bindFailureText(m, quoted, body.gateway));
      this.synchronise(s, out.bound);
      return;
    }
    await this.reply(s, m, 'SUCCESS', null);
    this.synchronise(s, out.bound);
  }

  /** The 'unbind' notice: an UNBIND request naming the Things another session took (LostBindBehaviour). */
  private sendUnbind(prev: Session, names: string[]): void {
    this.noticeId = (this.noticeId + 1) >>> 0;
    this.send(prev, {
      header: {
        version: 1,
        code: 'UNBIND',
        codeValue: MESSAGE_CODES.UNBIND,
        requestId: this.noticeId,
        endpointId: prev.endpointId,
        sessionId: prev.sessionId,
        multipart: null,
      },
      body: { kind: 'unbind', gateway: null, names },
    });
  }

  private async request(s: Session, m: Message, b: RequestBody): Promise<void> {
    if (this.lostBinds.pushes === 'refuse' && b.entityType === 'THING' && this.registry.lostTo(s, b.entityName)) {
      this.events.emit('pushRefused', { sessionId: s.sessionId, thing: b.entityName });
      return this.reply(s, m, 'FORBIDDEN', `Thing [${b.entityName}] is bound to another session`);
    }
    const content = await handleEdgeRequest(this.platform, s, m.header.code, b);
    return this.reply(s, m, 'SUCCESS', null, content);
  }

  /** The live session holding a Thing's binding, or undefined (not bound, ghost, socket closed). */
  private liveSession(thing: Thing): Session | undefined {
    const s = thing.boundTo as Session | null;
    return s && !s.ghost && s.ws && s.ws.readyState === s.ws.OPEN ? s : undefined;
  }

  /** EdgeGateway: PUT Things/<name>/Properties/<remoteName> to the edge holding the Thing's binding. */
  async writeRemoteProperty(thing: Thing, remoteName: string, value: TwValue, timeoutMs: number): Promise<void> {
    const s = this.liveSession(thing);
    const failed = (why: string) =>
      new PlatformError(504, `Unable to write remote property [${remoteName}] on ${thing.name}: ${why}`);
    if (!s) throw failed('the edge did not answer');
    this.events.emit('edgeRequest', { sessionId: s.sessionId, thing: thing.name, method: 'PUT', name: remoteName });
    let r: EdgeResponse;
    try {
      r = await this.requester.request(s, thing.name, {
        method: 'PUT',
        characteristic: 'PROPERTIES',
        name: remoteName,
        params: infoTableFromValues({ [remoteName]: value }),
        timeoutMs,
      });
    } catch (err) {
      throw failed((err as Error).message);
    }
    if (r.code !== 'SUCCESS')
      throw new PlatformError(CODE_TO_HTTP[MESSAGE_CODES[r.code]] ?? 500, r.reason ?? `The edge answered ${r.code}`);
  }

  /** Any request to the edge holding a Thing's binding (tests: reads, service calls, NotifyPropertyUpdate). */
  requestEdge(thingName: string, req: EdgeRequest): Promise<EdgeResponse> {
    const t = this.platform.store.things.get(thingName);
    const s = t ? this.liveSession(t) : undefined;
    if (!s) return Promise.reject(new PlatformError(500, `Thing ${thingName} is not bound to a live session`));
    this.events.emit('edgeRequest', {
      sessionId: s.sessionId,
      thing: thingName,
      method: req.method ?? 'POST',
      name: req.name,
    });
    return this.requester.request(s, thingName, req);
  }

  /** After a BIND: the synchronisation request the platform sends to each bound Thing (§10 step 4, §12.4). */
  private synchronise(s: Session, names: string[]): void {
    const mode = this.syncOnBind;
    if (!mode) return;
    for (const name of names) {
      const t = this.platform.store.things.get(name);
      if (!t) continue;
      const params = mode === 'SynchronizeModelState' ? modelStateParams(this.platform.store, t) : null;
      this.requester.request(s, name, { name: mode, params }).then(
        (r) => this.events.emit('sync', { sessionId: s.sessionId, thing: name, service: mode, code: r.code }),
        () => this.events.emit('sync', { sessionId: s.sessionId, thing: name, service: mode, code: null }),
      );
    }
  }

  closeAll(): void {
    for (const s of [...this.registry.sessions.values()]) {
      s.ws?.terminate();
      this.registry.remove(s, 'emulator closed');
    }
    this.wss.close();
  }
}
