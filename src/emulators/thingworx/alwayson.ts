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
  type ResponseBody,
  splitMessage,
  type TwValue,
} from '../../alwayson/codec/index.js';
import type { Thing, User } from './model.js';
import { PlatformError } from './permissions.js';
import type { EdgeGateway, Platform, SessionControl, SessionView, VTQ } from './platform.js';
import { type Session, SessionRegistry } from './sessions.js';
import { jsonToInfoTable, paramsFromInfoTable, twToJson } from './values.js';

const HTTP_TO_CODE: Record<number, MessageCodeName> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  412: 'PRECONDITION_FAILED',
  413: 'ENTITY_TOO_LARGE',
  415: 'UNSUPPORTED_CONTENT_FORMAT',
  500: 'INTERNAL_SERVER_ERROR',
  501: 'NOT_IMPLEMENTED',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};
const CODE_TO_HTTP: Record<number, number> = Object.fromEntries(
  Object.entries(HTTP_TO_CODE).map(([h, c]) => [MESSAGE_CODES[c], Number(h)]),
);

export function codeForStatus(status: number): MessageCodeName {
  return HTTP_TO_CODE[status] ?? (status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST');
}

export interface AlwaysOnOptions {
  ids?: { sessionId?: number; endpointId?: number; requestId?: number };
}

/** The V1BindMessage text of a rejected bind, as the reference document shows it. */
export function bindFailureText(m: Message, names: string[], gateway: { name: string; type: string } | null): string {
  const h = m.header;
  return (
    `Error trying to process message: Binding failed, see server log for more information V1BindMessage [header=V1MessageHeader ` +
    `[messageType=${h.codeValue}, requestId=${h.requestId | 0}, endpointId=${h.endpointId | 0}, sessionId=${h.sessionId | 0}, ` +
    `flags=${h.multipart ? 1 : 0}], gatewayName=${gateway?.name ?? 'null'}, gatewayType=${gateway?.type ?? 'null'}, ` +
    `names=[${names.join(', ')}]]`
  );
}

export class AlwaysOnEndpoint implements EdgeGateway, SessionControl {
  readonly registry: SessionRegistry;
  readonly wss: WebSocketServer;
  rejectAuth = false;
  private nextRequestId: number;

  constructor(
    private readonly platform: Platform,
    options: AlwaysOnOptions,
  ) {
    this.registry = new SessionRegistry(platform.store, platform, options.ids ?? {});
    this.nextRequestId = options.ids?.requestId ?? 1;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 2 * 1024 * 1024, perMessageDeflate: false });
    platform.edge = this;
    platform.sessions = this;
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
      if (body.kind === 'response') return this.edgeResponse(s, m);
      if (body.kind === 'request') return await this.request(s, m, body);
    } catch (err) {
      if (body.kind === 'response') return;
      const status = err instanceof PlatformError ? err.status : 500;
      await this.reply(s, m, codeForStatus(status), err instanceof Error ? err.message : String(err));
    }
  }

  private async auth(s: Session, m: Message, claims: Record<string, string>): Promise<void> {
    const found = this.rejectAuth ? undefined : this.platform.store.userForKey(claims.appKey);
    this.events.emit('auth', {
      sessionId: s.sessionId,
      ok: Boolean(found),
      keyName: found?.key.name,
      user: found?.user.name,
    });
    if (!found) {
      await this.reply(s, m, 'UNAUTHORIZED', 'Authentication failed: invalid or expired application key');
      this.closeSocket(s, 1008, 'Authentication failed');
      return;
    }
    s.user = found.user;
    s.key = found.key;
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
    if (!out.ok) {
      this.events.emit('bindRejected', {
        sessionId: s.sessionId,
        names: body.names,
        rejected: out.rejected,
        reason: out.reason,
      });
      const code = out.reason === 'missing' ? 'NOT_FOUND' : 'FORBIDDEN';
      return this.reply(s, m, code, bindFailureText(m, body.names, body.gateway));
    }
    for (const [prev, names] of out.takenFrom)
      this.events.emit('unbind', { sessionId: prev.sessionId, names, reason: 'takeover', by: s.sessionId });
    this.events.emit('bind', { sessionId: s.sessionId, names: body.names });
    return this.reply(s, m, 'SUCCESS', null);
  }

  private edgeResponse(s: Session, m: Message): void {
    const p = s.pending.get(m.header.requestId);
    if (!p) return;
    s.pending.delete(m.header.requestId);
    clearTimeout(p.timer);
    const body = m.body as ResponseBody;
    if (m.header.code === 'SUCCESS') p.resolve();
    else
      p.reject(
        new PlatformError(CODE_TO_HTTP[m.header.codeValue] ?? 500, body.reason ?? `The edge answered ${m.header.code}`),
      );
  }

  private async request(s: Session, m: Message, b: RequestBody): Promise<void> {
    const caller = { user: s.user!, keyName: s.key?.name, via: 'alwayson' as const };
    const collection =
      b.entityType === 'THING'
        ? 'Things'
        : b.entityType === 'THINGTEMPLATES'
          ? 'ThingTemplates'
          : b.entityType === 'RESOURCE'
            ? 'Resources'
            : b.entityType === 'SUBSYSTEM'
              ? 'Subsystems'
              : b.entityType === 'USERS'
                ? 'Users'
                : null;
    if (!collection)
      throw new PlatformError(
        404,
        `Unable to dispatch [ uri = /${b.entityType}/${b.entityName}/]: unsupported entity type`,
      );
    if (b.characteristic === 'EVENTS') {
      this.events.emit('event', {
        sessionId: s.sessionId,
        thing: b.entityName,
        event: b.name,
        params: paramsFromInfoTable(b.params),
      });
      return this.reply(s, m, 'SUCCESS', null);
    }
    if (b.characteristic === 'PROPERTIES' && collection === 'Things') {
      const t = this.platform.thing(caller, b.entityName);
      if (m.header.code === 'GET') {
        const table = this.platform.readProperties(
          caller,
          b.entityName,
          b.name === '' || b.name === '*' ? undefined : b.name,
        );
        return this.reply(s, m, 'SUCCESS', null, jsonToInfoTable(table));
      }
      const values = paramsFromInfoTable(b.params);
      const rows: VTQ[] = Object.entries(values).map(([name, value]) => ({
        name: name === '_content_' ? b.name : name,
        value,
      }));
      const { stored } = this.platform.updateValues(t, rows);
      this.events.emit('push', { sessionId: s.sessionId, thing: t.name, values: stored });
      return this.reply(s, m, 'SUCCESS', null);
    }
    if (b.characteristic !== 'SERVICES' || m.header.code !== 'POST')
      throw new PlatformError(405, `Method ${m.header.code} not allowed on ${b.characteristic}`);
    if (collection === 'Things' && b.name === 'UpdateSubscribedPropertyValues') return this.push(s, m, b, caller);
    const result = await this.platform.invoke(caller, collection, b.entityName, b.name, paramsFromInfoTable(b.params));
    return this.reply(s, m, 'SUCCESS', null, result ? jsonToInfoTable(result) : null);
  }

  /** POST Things/<name>/Services/UpdateSubscribedPropertyValues with the NamedVTQ `values` infotable (§11.1). */
  private async push(s: Session, m: Message, b: RequestBody, caller: { user: User; via: 'alwayson' }): Promise<void> {
    const t = this.platform.thing(caller, b.entityName);
    this.platform.access.requireServiceInvoke(caller.user, 'Things', t.name, b.name, t.owner);
    const rows: VTQ[] = [];
    const outer = b.params;
    const field = outer ? outer.dataShape.findIndex((f) => f.name === 'values') : -1;
    const inner = field >= 0 ? outer!.rows[0]?.[field] : undefined;
    if (inner?.baseType !== 'INFOTABLE') throw new PlatformError(400, 'Parameter [values] (INFOTABLE) is required');
    const it = inner.value;
    const idx = (n: string) => it.dataShape.findIndex((f) => f.name === n);
    const [iName, iValue, iTime, iQuality] = [idx('name'), idx('value'), idx('time'), idx('quality')];
    for (const r of it.rows) {
      const name = r[iName];
      if (!name || name.baseType === 'NOTHING') continue;
      const time = iTime >= 0 ? r[iTime] : undefined;
      const quality = iQuality >= 0 ? r[iQuality] : undefined;
      rows.push({
        name: String(twToJson(name)),
        value: iValue >= 0 && r[iValue] ? twToJson(r[iValue]!) : null,
        time: time && time.baseType === 'DATETIME' ? time.value : undefined,
        quality: quality && quality.baseType !== 'NOTHING' ? String(twToJson(quality)) : undefined,
      });
    }
    const { stored, unknown } = this.platform.updateValues(t, rows);
    this.events.emit('push', { sessionId: s.sessionId, thing: t.name, values: stored, unknown });
    return this.reply(s, m, 'SUCCESS', null);
  }

  /** EdgeGateway: PUT Things/<name>/Properties/<remoteName> to the edge holding the Thing's binding. */
  writeRemoteProperty(thing: Thing, remoteName: string, value: TwValue, timeoutMs: number): Promise<void> {
    const s = thing.boundTo as Session | null;
    if (!s || s.ghost || !s.ws || s.ws.readyState !== s.ws.OPEN)
      return Promise.reject(
        new PlatformError(
          504,
          `Unable to write remote property [${remoteName}] on ${thing.name}: the edge did not answer`,
        ),
      );
    const requestId = this.nextRequestId++ >>> 0;
    const msg: Message = {
      header: {
        version: 1,
        code: 'PUT',
        codeValue: MESSAGE_CODES.PUT,
        requestId,
        endpointId: s.endpointId,
        sessionId: s.sessionId,
        multipart: null,
      },
      body: {
        kind: 'request',
        entityType: 'THING',
        entityName: thing.name,
        characteristic: 'PROPERTIES',
        name: remoteName,
        headers: {},
        params: infoTableFromValues({ [remoteName]: value }),
      },
    };
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        s.pending.delete(requestId);
        reject(
          new PlatformError(
            504,
            `Unable to write remote property [${remoteName}] on ${thing.name}: request to the edge timed out`,
          ),
        );
      }, timeoutMs);
      timer.unref();
      s.pending.set(requestId, { resolve, reject, timer });
      this.events.emit('edgeRequest', { sessionId: s.sessionId, requestId, thing: thing.name, property: remoteName });
      this.send(s, msg);
    });
  }

  closeAll(): void {
    for (const s of [...this.registry.sessions.values()]) {
      s.ws?.terminate();
      this.registry.remove(s, 'emulator closed');
    }
    this.wss.close();
  }
}
