/**
 * One AlwaysOn connection (research/alwayson.md §10): WebSocket + AUTH, session id adoption, BIND/UNBIND in batches
 * that each fit one chunk, pushes, requests correlated by requestId with timeouts, platform-initiated requests,
 * pings, and reconnection with capped exponential backoff that re-authenticates and binds every Thing again.
 *
 * Nothing is dropped silently: a request either gets its response or its promise rejects (DisconnectedError or
 * RequestTimeoutError, both `retryable`). Requests made while the connection is down wait (up to the request
 * timeout) for it to come back; at most `maxInFlight` requests are outstanding, later ones queue in order.
 * Every failure is reported with its cause: `down`, `reconnect` (FailureCause), `protocol.error` (ProtocolErrorCause),
 * `ping.timeout`, and `failed` when the client gives up (ThingWorx refused the application key).
 *
 * States change in one place, setState(), along the table TRANSITIONS:
 *
 *   idle ──start()──▶ connecting ──socket open──▶ authenticating ──AUTH ok──▶ binding ──Things bound──▶ ready
 *                        ▲  │ (attempt failed: wait the backoff, stay connecting)  │           │          │
 *                        └──┴────────────── socket lost / attempt failed ◀─────────┴───────────┴──────────┘
 *   any state ──close(), start() failed, AUTH refused on a reconnect──▶ closed (final)
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import { backoffDelay } from '../util/backoff.js';
import { formatDuration, formatElapsed } from '../util/duration.js';
import { bindAll, type SendBind, unbindAll } from './binding.js';
import type { CharacteristicName, EntityTypeName, InfoTable, Message, RequestMethod, TwValue } from './codec/types.js';
import { answerPlatformRequest, type EdgeHandlers } from './edge.js';
import {
  type AlwaysOnError,
  AlwaysOnOptionsError,
  AuthFailedError,
  BindRejectedError,
  BusyError,
  ClientClosedError,
  DisconnectedError,
  type FailureCause,
  failureCause,
  IllegalTransitionError,
  PushWithdrawnError,
  RequestFailedError,
} from './errors.js';

export type { AlwaysOnClientOptions, ClientEvents, ClientState } from './options.js';

/** How a push (or a BIND) may be withdrawn before it is written. */
export interface PushOptions {
  /**
   * Asked right before the push (or each BIND message of a bind()) is written to the socket, after any wait for a
   * free slot: false withdraws it, and it rejects with PushWithdrawnError, nothing sent. A fleet bridge asks whether
   * it still holds the device's queue, so that a push or BIND that waited (or a process paused in between) does not
   * go out on a lost lease.
   */
  stillValid?: () => boolean;
}

import { Keepalive } from './keepalive.js';
import {
  authMessage,
  bindMessage,
  isSuccess,
  type PropertyValue,
  pushParams,
  requestMessage,
  responseMessage,
  singleValueTable,
} from './message-builders.js';
import {
  type AlwaysOnClientOptions,
  type ClientEvents,
  type ClientState,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import { PendingRequests } from './requests.js';
import { openSocket } from './socket.js';
import { FrameDecoder, framesOf } from './wire.js';

/** The states each state may go to (a state may also be set again: a no-op). Anything else is a bug. */
export const TRANSITIONS: Readonly<Record<ClientState, readonly ClientState[]>> = {
  idle: ['connecting', 'closed'],
  connecting: ['authenticating', 'closed'],
  authenticating: ['binding', 'connecting', 'closed'],
  binding: ['ready', 'connecting', 'closed'],
  ready: ['connecting', 'closed'],
  closed: [],
};

export class AlwaysOnClient extends EventEmitter<ClientEvents> {
  readonly url: string;
  private readonly opts: ResolvedOptions;
  private readonly pending: PendingRequests;
  private readonly bound = new Set<string>();
  private ws: WebSocket | null = null;
  private decoder: FrameDecoder;
  private keepalive: Keepalive | null = null;
  private sessionId = 0xffffffff;
  private stateValue: ClientState = 'idle';
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** Aborts the WebSocket opening in progress (close() during a connect: nothing of it keeps the process alive). */
  private opening: AbortController | null = null;
  /** The socket a close() is closing (waiting for the platform's close frame). */
  private closing: WebSocket | null = null;
  readonly handlers: EdgeHandlers = { propertyWrite: null, propertyRead: null, metadata: null };

  constructor(options: AlwaysOnClientOptions) {
    super();
    this.opts = resolveOptions(options);
    this.url = this.opts.url;
    this.pending = new PendingRequests(this.opts.maxInFlight, this.opts.requestTimeoutMs);
    this.pending.canSend = () => this.stateValue === 'ready';
    this.decoder = this.newDecoder();
  }

  get state(): ClientState {
    return this.stateValue;
  }

  /** The one place the state changes: refuses what TRANSITIONS does not allow (IllegalTransitionError). */
  private setState(next: ClientState): void {
    const from = this.stateValue;
    if (from === next) return;
    if (!TRANSITIONS[from].includes(next)) throw new IllegalTransitionError(from, next);
    this.stateValue = next;
  }

  /** The session id the platform assigned at the last AUTH. */
  get session(): number {
    return this.sessionId;
  }

  /** Names of the Things bound (or to be bound again after a reconnect) on this connection. */
  get boundThings(): ReadonlySet<string> {
    return this.bound;
  }

  /** Requests awaiting a response, and callers queued for a slot. */
  get load(): { inFlight: number; queued: number } {
    return { inFlight: this.pending.size, queued: this.pending.waiting };
  }

  /**
   * Connects, authenticates and binds the Things already registered. Rejects (and closes the client) if the first
   * connection fails: ConnectError (network, TLS), AuthFailedError (app key). Later losses reconnect by themselves.
   */
  async start(): Promise<void> {
    if (this.stateValue !== 'idle') throw new AlwaysOnOptionsError('start() called twice.', 'Call start() once.');
    if (this.opts.insecure) {
      this.emit('warning', {
        code: 'TPX_TLS_INSECURE',
        message: 'TLS certificate verification is OFF for the AlwaysOn connection (insecure). Never in production.',
      });
    }
    try {
      await this.connectOnce();
    } catch (error) {
      const ws = this.ws;
      this.shutdown(new ClientClosedError());
      ws?.terminate();
      throw error;
    }
  }

  /**
   * Binds Things on this connection, in batches that each fit one chunk. Resolves with the names bound; rejects
   * with BindRejectedError (listing refused and bound names) if the platform refused some.
   */
  async bind(names: readonly string[], options?: PushOptions): Promise<{ bound: string[] }> {
    const todo = [...new Set(names)].filter((n) => !this.bound.has(n));
    const refused = await bindAll(todo, this.opts.chunkSize, this.sendBind(true, options?.stillValid), this.bound);
    const all = names.filter((n) => this.bound.has(n));
    if (refused.names.length > 0) {
      const error = new BindRejectedError(refused.names, all, refused.status, refused.reason);
      this.emit('bind.rejected', error);
      throw error;
    }
    return { bound: all };
  }

  /** Unbinds Things (UNBIND in batches). They are forgotten at once: never bound again after a reconnect. */
  async unbind(names: readonly string[]): Promise<void> {
    const todo = names.filter((n) => this.bound.delete(n));
    if (todo.length === 0 || this.stateValue !== 'ready') return; // a dropped socket already unbound them
    await unbindAll(todo, this.opts.chunkSize, this.sendBind(true));
  }

  /** Forgets Things without an UNBIND (another session holds them now): they are not bound again on a reconnect. */
  forget(names: readonly string[]): void {
    for (const n of names) this.bound.delete(n);
  }

  /**
   * Pushes property values of one Thing (POST UpdateSubscribedPropertyValues). Resolves when the platform
   * acknowledged; rejects with a typed AlwaysOnError otherwise (`retryable` tells whether to try again).
   */
  push(thing: string, values: readonly PropertyValue[], options?: PushOptions): Promise<void> {
    return this.request(
      `push ${thing}`,
      (id) =>
        requestMessage(
          'POST',
          id,
          this.sessionId,
          'THING',
          thing,
          'SERVICES',
          'UpdateSubscribedPropertyValues',
          pushParams(values),
        ),
      true,
      options?.stillValid,
    ).then((res) => {
      if (!isSuccess(res.header.codeValue)) throw failed(`push ${thing}`, res);
    });
  }

  /** Any edge → platform request (e.g. invoke a service); resolves with the response content. */
  async call(
    method: RequestMethod,
    entityType: EntityTypeName,
    entityName: string,
    characteristic: CharacteristicName,
    name: string,
    params: InfoTable | null = null,
  ): Promise<InfoTable | null> {
    const what = `${method} ${entityName}/${characteristic}/${name}`;
    const res = await this.request(
      what,
      (id) => requestMessage(method, id, this.sessionId, entityType, entityName, characteristic, name, params),
      true,
    );
    if (!isSuccess(res.header.codeValue)) throw failed(what, res);
    return res.body.kind === 'response' ? res.body.content : null;
  }

  /** Writes one property directly (PUT Things/<thing>/Properties/<name>, §11.2). */
  async writeProperty(thing: string, name: string, value: TwValue): Promise<void> {
    await this.call('PUT', 'THING', thing, 'PROPERTIES', name, singleValueTable(name, value));
  }

  /**
   * Closes: UNBIND all (if `unbindOnClose`), WebSocket close 1000, fails queued requests with ClientClosedError.
   * `now`: without waiting for the platform (no UNBIND, the socket destroyed): a stop past its limit.
   */
  async close(options: { now?: boolean } = {}): Promise<void> {
    if (this.stateValue === 'closed') {
      // a close under way that waits for the closing handshake: `now` ends that wait
      if (options.now) this.closing?.terminate();
      return;
    }
    if (!options.now && this.stateValue === 'ready' && this.opts.unbindOnClose && this.bound.size > 0) {
      await this.unbind([...this.bound]).catch(() => {});
    }
    const ws = this.ws;
    this.shutdown(new ClientClosedError());
    if (ws && options.now) ws.terminate();
    else if (ws) {
      this.closing = ws;
      await closeSocket(ws);
      this.closing = null;
    }
  }

  // ---- internals ----

  /** Sends a request and resolves with its response. `user` requests wait for the ready state. */
  private request(
    what: string,
    build: (requestId: number) => Message,
    user: boolean,
    stillValid?: () => boolean,
  ): Promise<Message> {
    if (this.stateValue === 'closed') return Promise.reject(new ClientClosedError());
    if (user && this.stateValue === 'idle') {
      return Promise.reject(new AlwaysOnOptionsError('The AlwaysOn client is not started.', 'Call start() first.'));
    }
    return new Promise<Message>((resolve, reject) => {
      const send = (): void => {
        const ws = this.ws;
        if (!ws || this.stateValue === 'closed') {
          reject(this.stateValue === 'closed' ? new ClientClosedError() : new DisconnectedError());
          return;
        }
        const id = this.pending.nextId();
        if (stillValid || this.held.length > 0 || this.flushing) {
          // one the caller may withdraw is asked when it is written, with the others of this turn (and any request
          // after it, in order): at the turn's end, not when it was made (a process paused in between)
          this.pending.add(id, what, resolve, reject);
          this.hold({ ws, id, what, build, stillValid });
          return;
        }
        let frames: Buffer[];
        try {
          frames = framesOf(build(id), this.opts.chunkSize, this.opts.maxMessageSize);
        } catch (error) {
          reject(error);
          return;
        }
        this.pending.add(id, what, resolve, reject);
        this.corkUntilNextTick(ws);
        for (const f of frames) ws.send(f);
      };
      if (!user || (this.stateValue === 'ready' && this.pending.hasSlot())) send();
      else if (this.pending.waiting >= this.opts.maxQueued) reject(new BusyError(this.pending.waiting));
      else this.pending.enqueue(what, send, reject);
    });
  }

  /** Requests of this turn written at its end (flushHeld), in order. */
  private held: Held[] = [];
  private flushing = false;

  private hold(h: Held): void {
    this.held.push(h);
    if (this.held.length === 1) process.nextTick(() => this.flushHeld());
  }

  /**
   * Writes the requests held in this turn, in one write: each one the caller may withdraw is asked right before
   * (a request that waited for a slot, or a process paused after making it, may no longer be wanted), and the
   * socket is uncorked right after the last, so that nothing runs between the questions and the write but this loop.
   * Those asked are asked once more before the write: one no longer wanted then was still wanted a moment before, in
   * this loop (the process was paused in it). What is in the socket's buffer cannot be taken back: the socket is
   * dropped unwritten (its requests fail, retryable, and the client reconnects).
   */
  private flushHeld(): void {
    const batch = this.held;
    this.held = [];
    this.flushing = true;
    const corked: Socket[] = [];
    const asked: Held[] = [];
    let late: Held | undefined;
    try {
      for (const h of batch) {
        // its socket went away meanwhile: the request was failed with it
        if (h.ws !== this.ws || this.stateValue === 'closed') continue;
        if (h.stillValid && !h.stillValid()) {
          this.pending.reject(h.id, new PushWithdrawnError(h.what));
          continue;
        }
        let frames: Buffer[];
        try {
          frames = framesOf(h.build(h.id), this.opts.chunkSize, this.opts.maxMessageSize);
        } catch (error) {
          this.pending.reject(h.id, error as Error);
          continue;
        }
        const socket = (h.ws as unknown as { _socket?: Socket })._socket;
        if (socket && !socket.destroyed && !corked.includes(socket)) {
          socket.cork();
          corked.push(socket);
        }
        for (const f of frames) h.ws.send(f);
        if (h.stillValid) asked.push(h);
      }
      late = asked.find((h) => !h.stillValid!());
    } finally {
      this.flushing = false;
      if (late) {
        this.dropSocket(
          late.ws,
          new DisconnectedError(
            `${late.what} was withdrawn while the requests of its turn were being written: the AlwaysOn socket is dropped unwritten.`,
            undefined,
            'withdrawn',
          ),
        );
      }
      // requests made meanwhile (a withdrawn one freed a slot for a queued one) wait for the next flush
      for (const socket of corked) if (!socket.destroyed) socket.uncork();
    }
  }

  /**
   * Holds the socket's writes until the end of this tick, so that the requests sent in one tick leave in one write
   * (one TLS record, one system call) instead of one each. `ws` exposes its net/tls socket as `_socket` (ws 8).
   */
  private corkUntilNextTick(ws: WebSocket): void {
    const socket = (ws as unknown as { _socket?: Socket })._socket;
    // corked already: by an earlier request of this tick (ws's own cork is undone before its send returns)
    if (!socket || socket.destroyed || socket.writableCorked > 0) return;
    socket.cork();
    process.nextTick(() => socket.uncork());
  }

  /** BIND/UNBIND sender for binding.ts; `user` sends wait for the ready state like any caller's request. */
  private sendBind(user: boolean, stillValid?: () => boolean): SendBind {
    return (kind, names) =>
      this.request(
        kind === 'bind' ? 'BIND' : 'UNBIND',
        (id) => bindMessage(kind, id, this.sessionId, names),
        user,
        stillValid,
      );
  }

  private async connectOnce(): Promise<void> {
    this.setState('connecting');
    const opening = new AbortController();
    this.opening = opening;
    let ws: WebSocket;
    try {
      ws = await openSocket(this.url, {
        appKey: this.opts.appKey,
        ca: this.opts.ca,
        insecure: this.opts.insecure,
        chunkSize: this.opts.chunkSize,
        maxPayload: Math.ceil(this.opts.maxMessageSize * 1.5),
        connectTimeoutMs: this.opts.connectTimeoutMs,
        signal: opening.signal,
      });
    } finally {
      if (this.opening === opening) this.opening = null;
    }
    if (this.state === 'closed') {
      ws.terminate();
      throw new ClientClosedError();
    }
    this.ws = ws;
    this.decoder = this.newDecoder();
    this.watchSocket(ws);
    this.setState('authenticating');
    const auth = await this.authenticate(ws);
    this.sessionId = auth.header.sessionId;
    this.setState('binding');
    if (this.bound.size > 0) await this.rebind();
    if (ws !== this.ws) throw new DisconnectedError();
    this.setState('ready');
    this.attempt = 0;
    this.emit('up', { sessionId: this.sessionId, bound: this.bound.size });
    this.pending.wake();
  }

  /** Listens to the socket (frames, close, errors) and starts the keep-alive. */
  private watchSocket(ws: WebSocket): void {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (ws !== this.ws) return;
      if (isBinary) this.onFrame(data);
      else {
        const error = new Error(`A text frame of ${data.length} bytes (AlwaysOn frames are binary): dropped.`);
        this.emit('protocol.error', { error, cause: 'text_frame' });
      }
    });
    ws.on('close', (code: number, reason: Buffer) => {
      const text = reason.toString();
      const failure: FailureCause =
        code === 1009 ? 'frame_too_large' : code === 1002 ? 'bad_frame' : 'closed_by_platform';
      this.onSocketGone(
        ws,
        new DisconnectedError(`The AlwaysOn socket closed (${code}${text ? ` ${text}` : ''}).`, undefined, failure),
      );
    });
    ws.on('error', (error: Error) => {
      const failure = failureCause(error);
      this.onSocketGone(
        ws,
        new DisconnectedError(
          `The AlwaysOn socket failed: ${error.message}.`,
          error,
          failure === 'unknown' ? 'socket_error' : failure,
        ),
      );
    });
    // Keep-alive from the first byte: a platform that accepts the socket and then says nothing (no AUTH answer,
    // frozen) is noticed within the deadline, not only after the request timeout.
    this.keepalive = new Keepalive(ws, this.opts.pingIntervalMs, this.opts.pingDeadlineMs, (silentMs) => {
      this.emit('ping.timeout', { pongTimeoutMs: this.opts.pingDeadlineMs, silentMs });
      this.dropSocket(
        ws,
        new DisconnectedError(
          `ThingWorx said nothing for ${formatElapsed(silentMs)}, not even a pong (deadline ${formatDuration(this.opts.pingDeadlineMs)}): ` +
            'the platform is frozen or the network path is dead.',
          undefined,
          'ping_timeout',
        ),
      );
    });
    this.keepalive.start();
  }

  /** AUTH with the application key; a timeout or a 5xx drops the socket and throws a DisconnectedError. */
  private async authenticate(ws: WebSocket): Promise<Message> {
    let auth: Message;
    try {
      auth = await this.request('AUTH', (id) => authMessage(id, this.opts.appKey), false);
    } catch (error) {
      if ((error as AlwaysOnError).code === 'TPX_ALWAYSON_TIMEOUT') {
        this.dropSocket(ws);
        throw new DisconnectedError(
          `ThingWorx did not answer AUTH within ${formatDuration(this.opts.requestTimeoutMs)}.`,
          error,
          'auth_timeout',
        );
      }
      throw error;
    }
    if (!isSuccess(auth.header.codeValue)) {
      const reason = auth.body.kind === 'response' ? auth.body.reason : null;
      this.dropSocket(ws);
      // A server error (5xx) is the platform's trouble, not a verdict on the key: retried like a lost socket.
      if (auth.header.codeValue >= 0xa0) {
        throw new DisconnectedError(
          `ThingWorx answered AUTH with ${auth.header.code}${reason ? `: ${reason}` : ''}.`,
          undefined,
          'auth_unavailable',
        );
      }
      throw new AuthFailedError(auth.header.codeValue, reason);
    }
    return auth;
  }

  /** Binds the Things again after a reconnect (refused ones are dropped, names unbound meanwhile unbound). */
  private async rebind(): Promise<void> {
    // Names stay in `bound` while they are bound again; refused ones are dropped, and names unbound by the owner
    // meanwhile are unbound on the platform too.
    const names = [...this.bound];
    const rebound = new Set<string>();
    const refused = await bindAll(names, this.opts.chunkSize, this.sendBind(false), rebound);
    for (const n of refused.names) this.bound.delete(n);
    const stale = [...rebound].filter((n) => !this.bound.has(n));
    if (stale.length > 0) await unbindAll(stale, this.opts.chunkSize, this.sendBind(false));
    if (refused.names.length > 0) {
      const bound = names.filter((n) => this.bound.has(n));
      const error = new BindRejectedError(refused.names, bound, refused.status, refused.reason);
      this.emit('bind.rejected', error);
      this.emit('rebind.rejected', error);
    }
  }

  private onFrame(data: Buffer): void {
    let msg: Message | null;
    try {
      msg = this.decoder.push(data);
    } catch (error) {
      this.onBadFrame(data, error as Error);
      return;
    }
    if (msg === null) return;
    const code = msg.header.codeValue;
    if (code >= 0x40) {
      this.pending.resolve(msg.header.requestId, msg);
      return;
    }
    if (code >= 0x01 && code <= 0x04 && msg.body.kind === 'request') void this.onPlatformRequest(msg);
    // Anything else (KEEP_ALIVE, unknown) is ignored, as the C SDK does (§17).
  }

  /** A frame that does not decode: fail the request it answers, or answer the platform request it carries. */
  private onBadFrame(data: Buffer, error: Error): void {
    this.emit('protocol.error', { error, cause: 'bad_message' });
    if (data.length < 15) return;
    const code = data[1]!;
    const requestId = data.readUInt32BE(2);
    if (code >= 0x40) {
      this.pending.reject(requestId, error);
    } else if (code >= 0x01 && code <= 0x04 && this.ws) {
      const res = responseMessage('BAD_REQUEST', requestId, data.readUInt32BE(6), this.sessionId, error.message, null);
      for (const f of framesOf(res, this.opts.chunkSize, this.opts.maxMessageSize)) this.ws.send(f);
    }
  }

  private async onPlatformRequest(msg: Message): Promise<void> {
    const body = msg.body;
    if (body.kind !== 'request') return;
    const ws = this.ws;
    const answer = await answerPlatformRequest(msg.header.code, body, (t) => this.bound.has(t), this.handlers);
    if (ws && ws === this.ws) {
      const res = responseMessage(
        answer.code,
        msg.header.requestId,
        msg.header.endpointId,
        this.sessionId,
        answer.reason,
        answer.content,
      );
      try {
        for (const f of framesOf(res, this.opts.chunkSize, this.opts.maxMessageSize)) ws.send(f);
      } catch (error) {
        this.emit('protocol.error', { error: error as Error, cause: 'bad_answer' });
      }
    }
    this.emit('platform.request', {
      method: msg.header.code,
      thing: body.entityName,
      name: body.name,
      code: answer.code,
      ...(answer.error === undefined ? {} : { error: answer.error }),
    });
    if (answer.sync) this.emit('thing.sync', { thing: body.entityName, service: answer.sync });
  }

  private dropSocket(ws: WebSocket, error: Error = new DisconnectedError()): void {
    ws.terminate();
    this.onSocketGone(ws, error);
  }

  private onSocketGone(ws: WebSocket, error: Error): void {
    if (ws !== this.ws) return;
    this.ws = null;
    this.keepalive?.stop();
    this.keepalive = null;
    this.reportIncomplete();
    const wasReady = this.stateValue === 'ready';
    if (this.stateValue !== 'closed') this.setState('connecting');
    const failedCount = this.pending.rejectAll(error);
    if (wasReady) {
      this.emit('down', { error, failed: failedCount, cause: failureCause(error) });
      this.scheduleReconnect(error);
    }
  }

  private scheduleReconnect(error: Error): void {
    if (this.stateValue === 'closed' || this.reconnectTimer) return;
    this.attempt += 1;
    const delayMs = backoffDelay(this.attempt, this.opts.reconnect);
    this.emit('reconnect', { attempt: this.attempt, delayMs, error, cause: failureCause(error) });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.stateValue === 'closed') return;
      this.connectOnce().catch((err: Error) => {
        if (this.ws) this.dropSocket(this.ws, err);
        if (this.stateValue === 'closed') return;
        if (err instanceof AuthFailedError) {
          // Waiting does not cure a refused key: give up, and say so (the owner decides what to do).
          // Waiting callers get a retryable error: what they carry was not refused, the connection was.
          this.emit('failed', { error: err, cause: 'auth_refused' });
          this.shutdown(new DisconnectedError(err.message, err, 'auth_refused'));
          return;
        }
        this.setState('connecting');
        this.scheduleReconnect(err);
      });
    }, delayMs);
  }

  /** A decoder that reports the incomplete multipart messages it gives up on. */
  private newDecoder(): FrameDecoder {
    return new FrameDecoder(this.opts.maxMessageSize, (d) => {
      const error = new Error(
        `An incomplete multipart message (code 0x${d.code.toString(16)}, request ${d.requestId}, ` +
          `${d.received} of ${d.chunkCount} chunks) was dropped: ${d.reason === 'stale' ? 'its other chunks never came' : 'too many incomplete messages at once'}.`,
      );
      this.emit('protocol.error', { error, cause: 'incomplete_multipart' });
    });
  }

  /** Incomplete multipart messages of a socket that went away are lost with it: one report for all of them. */
  private reportIncomplete(): void {
    const n = this.decoder.incomplete;
    if (n === 0) return;
    this.decoder = this.newDecoder();
    const error = new Error(`${n} incomplete multipart message(s) were dropped with the socket.`);
    this.emit('protocol.error', { error, cause: 'incomplete_multipart' });
  }

  private shutdown(error: Error): void {
    this.setState('closed');
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    // an opening in progress is abandoned: its socket and its limit's timer would keep the process alive
    this.opening?.abort(new ClientClosedError());
    this.opening = null;
    this.keepalive?.stop();
    this.keepalive = null;
    const ws = this.ws;
    this.ws = null;
    this.pending.rejectAll(error);
    this.pending.rejectWaiters(error);
    this.pending.dispose();
    if (ws) ws.on('error', () => {});
  }
}

/** A request written at the end of its turn (AlwaysOnClient.flushHeld). */
interface Held {
  ws: WebSocket;
  id: number;
  what: string;
  build: (requestId: number) => Message;
  stillValid: (() => boolean) | undefined;
}

function failed(what: string, res: Message): RequestFailedError {
  const reason = res.body.kind === 'response' ? res.body.reason : null;
  return new RequestFailedError(what, res.header.codeValue, res.header.code, reason);
}

function closeSocket(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === ws.CLOSED) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 2000);
    timer.unref();
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close(1000, 'Normal Close');
  });
}
