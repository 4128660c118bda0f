/** Test helpers: a raw AlwaysOn edge (ws + codec only, never the tpx client) and a REST caller (undici). */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { WebSocket } from 'ws';
import {
  type DecodedMessage,
  encodeMessage,
  infoTableFromValues,
  MESSAGE_CODES,
  type Message,
  type MessageBody,
  type MessageCodeName,
  Reassembler,
  type TwValue,
} from '../../../src/alwayson/codec/index.js';
import type { ThingWorxEmulator } from '../../../src/emulators/thingworx/index.js';

export function msg(
  code: MessageCodeName,
  requestId: number,
  body: MessageBody,
  sessionId = 0,
  endpointId = 0,
): Message {
  return {
    header: { version: 1, code, codeValue: MESSAGE_CODES[code], requestId, endpointId, sessionId, multipart: null },
    body,
  };
}

export class RawEdge {
  private queue: Buffer[] = [];
  private waiters: ((b: Buffer) => void)[] = [];
  private reassembler = new Reassembler();
  sessionId = 0;
  private nextId = 1;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const w = this.waiters.shift();
      if (w) w(data);
      else this.queue.push(data);
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static async connect(emu: ThingWorxEmulator, headers: Record<string, string> = {}): Promise<RawEdge> {
    const ws = new WebSocket(emu.wsUrl, { ca: emu.caFile ? readFileSync(emu.caFile) : undefined, headers });
    const edge = new RawEdge(ws);
    await once(ws, 'open');
    return edge;
  }

  /** Connects and authenticates with the key. */
  static async authed(emu: ThingWorxEmulator, key = emu.appKey): Promise<RawEdge> {
    const edge = await RawEdge.connect(emu);
    const r = await edge.call('AUTH', { kind: 'auth', claims: { appKey: key } });
    if (r.header.code !== 'SUCCESS') throw new Error(`AUTH failed: ${r.header.code}`);
    edge.sessionId = r.header.sessionId;
    return edge;
  }

  sendRaw(b: Buffer): void {
    this.ws.send(b);
  }

  send(m: Message): void {
    this.ws.send(encodeMessage(m));
  }

  frame(): Promise<Buffer> {
    const b = this.queue.shift();
    if (b) return Promise.resolve(b);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async message(): Promise<DecodedMessage> {
    for (;;) {
      const m = this.reassembler.push(await this.frame());
      if (m) return m;
    }
  }

  /** Sends a request-like message and waits for the message answering it. */
  async call(code: MessageCodeName, body: MessageBody): Promise<DecodedMessage> {
    const id = this.nextId++;
    this.send(msg(code, id, body, code === 'AUTH' ? 0xffffffff : this.sessionId));
    for (;;) {
      const m = await this.message();
      if (m.header.requestId === id && m.header.codeValue >= 0x40) return m;
    }
  }

  bind(names: string[]): Promise<DecodedMessage> {
    return this.call('BIND', { kind: 'bind', gateway: null, names });
  }

  push(
    thing: string,
    values: { name: string; value: TwValue; time?: number; quality?: string }[],
  ): Promise<DecodedMessage> {
    const vtq = {
      dataShape: [
        { name: 'name', description: '', baseType: 'STRING' as const, aspects: {} },
        { name: 'value', description: '', baseType: 'VARIANT' as const, aspects: {} },
        { name: 'time', description: '', baseType: 'DATETIME' as const, aspects: {} },
        { name: 'quality', description: '', baseType: 'STRING' as const, aspects: {} },
      ],
      rows: values.map((v): TwValue[] => [
        { baseType: 'STRING', value: v.name },
        { baseType: 'VARIANT', value: v.value },
        { baseType: 'DATETIME', value: v.time ?? Date.now() },
        { baseType: 'STRING', value: v.quality ?? 'GOOD' },
      ]),
    };
    return this.call('POST', {
      kind: 'request',
      entityType: 'THING',
      entityName: thing,
      characteristic: 'SERVICES',
      name: 'UpdateSubscribedPropertyValues',
      headers: {},
      params: infoTableFromValues({ values: { baseType: 'INFOTABLE', value: vtq } }),
    });
  }

  close(): Promise<unknown> {
    if (this.ws.readyState === this.ws.CLOSED) return Promise.resolve();
    this.ws.close();
    return this.closed;
  }
}

export interface RestReply {
  status: number;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test access to arbitrary JSON
  json: any;
}

/** A REST call the way tpx makes it (appKey header, Accept and Content-Type JSON). */
export async function rest(
  emu: ThingWorxEmulator,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  options: { key?: string | null; headers?: Record<string, string> } = {},
): Promise<RestReply> {
  const dispatcher = emu.caFile ? new Agent({ connect: { ca: readFileSync(emu.caFile) } }) : undefined;
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.key !== null) headers.appKey = options.key ?? emu.appKey;
  if (method !== 'GET' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
    headers['content-type'] = 'application/json';
  const r = await request(`${emu.restUrl}/Thingworx/${path}`, {
    method,
    headers,
    body: body === undefined ? (method === 'GET' ? undefined : '{}') : JSON.stringify(body),
    dispatcher,
  });
  const text = await r.body.text();
  await dispatcher?.close();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.statusCode, text, json };
}

/** Resolves with the first event of that name matching the predicate. */
// biome-ignore lint/suspicious/noExplicitAny: event payloads are untyped in tests
export function nextEvent<T = any>(
  emu: ThingWorxEmulator,
  name: string,
  pred: (e: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve) => {
    const fn = (e: T) => {
      if (!pred(e)) return;
      emu.events.off(name, fn);
      resolve(e);
    };
    emu.events.on(name, fn);
  });
}
