/**
 * Whole frames: the 15-byte header (research/alwayson.md §3), the 6-byte multipart header (§7) and the body (§6).
 * decodeMessage is strict and total: anything it cannot read raises ProtocolError with the byte offset.
 */

import { isHexBytes } from '../../util/hex.js';
import { type BodyKind, bodyKindOf, entityTypeByte, readBody, readEntityType, writeBody } from './body.js';
import { EncodeError, hexByte, ProtocolError } from './errors.js';
import { asBuffer, Reader } from './reader.js';
import {
  type ChunkBody,
  type CodecLimits,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_MESSAGE_SIZE,
  type DecodedMessage,
  type EntityTypeName,
  HEADER_SIZE,
  MESSAGE_CODES,
  type Message,
  type MessageBody,
  type MessageCodeName,
  type MessageHeader,
  namesByByte,
} from './types.js';
import { Writer } from './writer.js';

const CODE_BY_BYTE = namesByByte(MESSAGE_CODES);

/** The name of a message code (§4), or undefined. */
export function codeName(code: number): MessageCodeName | undefined {
  return Number.isInteger(code) && code >= 0 && code <= 255 ? CODE_BY_BYTE[code] : undefined;
}

export function limitsOf(limits?: CodecLimits): { maxMessageSize: number; maxDepth: number } {
  return {
    maxMessageSize: limits?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    maxDepth: limits?.maxDepth ?? DEFAULT_MAX_DEPTH,
  };
}

/** One multipart chunk, parsed without copying (data and prefix are views into the frame). */
export interface RawChunk {
  header: MessageHeader;
  kind: 'request' | 'response';
  chunkId: number;
  chunkCount: number;
  chunkSize: number;
  entityType?: EntityTypeName;
  entityName?: string;
  /** The entity prefix bytes (request chunks only; empty for responses). */
  prefix: Buffer;
  data: Buffer;
}

type Parsed = { header: MessageHeader; kind: BodyKind; reader: Reader } | { chunk: RawChunk };

function checkSize(buf: Buffer, max: number): void {
  if (buf.length > max) {
    throw new ProtocolError(max, `a frame of at most ${max} bytes (maxMessageSize)`, `${buf.length} bytes`);
  }
}

/**
 * Only the header (and multipart header) of a frame, for any known code including UNKNOWN and KEEP_ALIVE, which
 * have no body (a receiver may ignore them, §13). Throws ProtocolError on a short frame or an unknown code.
 */
export function decodeHeader(frame: Uint8Array): MessageHeader {
  const r: Reader = new Reader(asBuffer(frame));
  const version = r.u8('the version byte');
  const code = r.u8('a message code byte');
  const name = CODE_BY_BYTE[code];
  if (name === undefined) r.fail('a known message code (§4)', hexByte(code), 1);
  const requestId = r.u32('a 4-byte request id');
  const endpointId = r.u32('a 4-byte endpoint id');
  const sessionId = r.u32('a 4-byte session id');
  const marker = r.u8('the multipart marker byte');
  let multipart = null;
  if (marker !== 0) {
    const chunkId = r.u16('a 2-byte chunk id');
    const chunkCount = r.u16('a 2-byte chunk count');
    multipart = { chunkId, chunkCount, chunkSize: r.u16('a 2-byte chunk size') };
  }
  return { version, code: name, codeValue: code, requestId, endpointId, sessionId, multipart };
}

/** Reads the header (and, for a chunk, the multipart header and entity prefix). */
export function parseFrame(buf: Buffer, maxMessageSize: number): Parsed {
  checkSize(buf, maxMessageSize);
  const r: Reader = new Reader(buf);
  const version = r.u8('the version byte');
  const code = r.u8('a message code byte');
  const name = CODE_BY_BYTE[code];
  if (name === undefined) r.fail('a known message code (§4)', hexByte(code), 1);
  const kind = bodyKindOf(code);
  if (kind === undefined) r.fail('a message code with a body (request, AUTH, BIND, UNBIND or response)', name, 1);
  const requestId = r.u32('a 4-byte request id');
  const endpointId = r.u32('a 4-byte endpoint id');
  const sessionId = r.u32('a 4-byte session id');
  const marker = r.u8('the multipart marker byte');
  const header: MessageHeader = {
    version,
    code: name,
    codeValue: code,
    requestId,
    endpointId,
    sessionId,
    multipart: null,
  };
  if (marker === 0) return { header, kind, reader: r };
  if (kind !== 'request' && kind !== 'response') {
    r.fail(`multipart marker 0x00 (${name} messages are never split)`, hexByte(marker), 14);
  }
  const chunkId = r.u16('a 2-byte chunk id');
  const cAt = r.pos;
  const chunkCount = r.u16('a 2-byte chunk count');
  const chunkSize = r.u16('a 2-byte chunk size');
  if (chunkCount === 0) r.fail('a chunk count of at least 1', '0', cAt);
  if (chunkId === 0 || chunkId > chunkCount) r.fail(`a chunk id from 1 to ${chunkCount}`, `${chunkId}`, 15);
  if (chunkCount * chunkSize > maxMessageSize) {
    r.fail(
      `chunk count × chunk size of at most ${maxMessageSize} (maxMessageSize)`,
      `${chunkCount} × ${chunkSize}`,
      cAt,
    );
  }
  header.multipart = { chunkId, chunkCount, chunkSize };
  const chunk: RawChunk = {
    header,
    kind,
    chunkId,
    chunkCount,
    chunkSize,
    prefix: buf.subarray(r.pos, r.pos),
    data: buf,
  };
  if (kind === 'request') {
    const start = r.pos;
    chunk.entityType = readEntityType(r);
    chunk.entityName = r.str('an entity name');
    chunk.prefix = buf.subarray(start, r.pos);
  }
  chunk.data = buf.subarray(r.pos);
  return { chunk };
}

function chunkBody(c: RawChunk): ChunkBody {
  return c.kind === 'request'
    ? { kind: 'chunk', entityType: c.entityType!, entityName: c.entityName!, data: c.data.toString('hex') }
    : { kind: 'chunk', data: c.data.toString('hex') };
}

/** Reads a body to its end; bytes after a complete body are returned as `trailing` (hex), per §21 D1/D4. */
export function readBodyTrailing(
  r: Reader,
  kind: BodyKind,
  maxDepth: number,
): { body: MessageBody; trailing: string | null } {
  const body = readBody(r, kind, maxDepth);
  const trailing = r.pos < r.end ? r.buf.toString('hex', r.pos, r.end) : null;
  return { body, trailing };
}

/** Decodes one frame. A multipart chunk decodes with body.kind 'chunk' (see Reassembler for whole messages). */
export function decodeMessage(frame: Uint8Array, limits?: CodecLimits): DecodedMessage {
  const { maxMessageSize, maxDepth } = limitsOf(limits);
  const p = parseFrame(asBuffer(frame), maxMessageSize);
  if ('chunk' in p) return { header: p.chunk.header, body: chunkBody(p.chunk), trailing: null };
  const { body, trailing } = readBodyTrailing(p.reader, p.kind, maxDepth);
  return { header: p.header, body, trailing };
}

/** Decodes a body without its header, for a message with code `code` (a number or a name). */
export function decodeBody(
  data: Uint8Array,
  code: number | MessageCodeName,
  limits?: CodecLimits,
): { body: MessageBody; trailing: string | null } {
  const value = typeof code === 'number' ? code : MESSAGE_CODES[code];
  const kind = bodyKindOf(value);
  if (kind === undefined || CODE_BY_BYTE[value] === undefined) {
    throw new ProtocolError(0, 'a message code with a body (request, AUTH, BIND, UNBIND or response)', String(code));
  }
  const { maxMessageSize, maxDepth } = limitsOf(limits);
  const buf = asBuffer(data);
  checkSize(buf, maxMessageSize);
  return readBodyTrailing(new Reader(buf), kind, maxDepth);
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

const shared = new Writer();

function u32Field(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new EncodeError(path, 'an integer from 0 to 4294967295', String(v));
  }
  return v;
}

/** Writes the 15-byte header; returns the code value. */
export function writeHeader(w: Writer, h: MessageHeader, multipart: boolean): number {
  const code = Object.hasOwn(MESSAGE_CODES, h.code) ? MESSAGE_CODES[h.code] : undefined;
  if (code === undefined) throw new EncodeError('header.code', 'a message code name (§4)', JSON.stringify(h.code));
  if (h.codeValue !== undefined && h.codeValue !== code) {
    throw new EncodeError('header.codeValue', `${code} (the value of ${h.code})`, String(h.codeValue));
  }
  const version = h.version ?? 1;
  if (!Number.isInteger(version) || version < 0 || version > 255) {
    throw new EncodeError('header.version', 'an integer from 0 to 255', String(version));
  }
  w.ensure(HEADER_SIZE);
  w.u8(version);
  w.u8(code);
  w.u32(u32Field(h.requestId, 'header.requestId'));
  w.u32(u32Field(h.endpointId, 'header.endpointId'));
  w.u32(u32Field(h.sessionId, 'header.sessionId'));
  w.u8(multipart ? 1 : 0);
  return code;
}

function writeHex(w: Writer, hex: string, path: string): void {
  if (!isHexBytes(hex)) throw new EncodeError(path, 'bytes as a hex string', JSON.stringify(hex.slice(0, 40)));
  w.ensure(hex.length / 2);
  w.pos += w.buf.write(hex, w.pos, 'hex');
}

/**
 * Encodes one single-frame message. `header.multipart` must be null (see splitMessage / encodeFrames).
 * The `trailing` bytes of a DecodedMessage (hex) are written after the body, so a decoded frame re-encodes exactly.
 */
export function encodeMessage(msg: Message): Buffer {
  if (msg.header.multipart !== null) {
    throw new EncodeError('header.multipart', 'null (split a message with splitMessage or encodeFrames)');
  }
  const w = shared.reset();
  try {
    const code = writeHeader(w, msg.header, false);
    writeBody(w, msg.header.code, code, msg.body, DEFAULT_MAX_DEPTH);
    const trailing = (msg as Partial<DecodedMessage>).trailing;
    if (typeof trailing === 'string' && trailing.length > 0) writeHex(w, trailing, 'trailing');
    return w.take();
  } finally {
    w.reset();
  }
}

/** Encodes a body without a header. */
export function encodeBody(body: MessageBody, code: MessageCodeName): Buffer {
  const w = shared.reset();
  try {
    writeBody(w, code, MESSAGE_CODES[code], body, DEFAULT_MAX_DEPTH);
    return w.take();
  } finally {
    w.reset();
  }
}

/** Encodes one multipart chunk as decoded by decodeMessage (header.multipart with chunkId, body.kind 'chunk'). */
export function encodeChunk(msg: Message): Buffer {
  const mp = msg.header.multipart;
  const body = msg.body;
  if (mp === null || mp.chunkId === undefined) {
    throw new EncodeError('header.multipart', '{chunkId, chunkCount, chunkSize} on a chunk');
  }
  if (body.kind !== 'chunk') throw new EncodeError('body.kind', '"chunk" on a chunk', JSON.stringify(body.kind));
  for (const k of ['chunkId', 'chunkCount', 'chunkSize'] as const) {
    const v = mp[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) {
      throw new EncodeError(`header.multipart.${k}`, 'an integer from 0 to 65535', String(v));
    }
  }
  if (typeof body.data !== 'string' || !isHexBytes(body.data)) {
    throw new EncodeError('body.data', 'the chunk data as a hex string', JSON.stringify(body.data));
  }
  const w = shared.reset();
  try {
    const code = writeHeader(w, msg.header, true);
    const kind = bodyKindOf(code);
    if (kind !== 'request' && kind !== 'response') {
      throw new EncodeError('header.code', 'a request or response code on a chunk', msg.header.code);
    }
    w.u16(mp.chunkId!);
    w.u16(mp.chunkCount);
    w.u16(mp.chunkSize);
    if (kind === 'request') {
      const et = body.entityType === undefined ? undefined : entityTypeByte(body.entityType);
      if (et === undefined) throw new EncodeError('body.entityType', 'a known entity type on a request chunk');
      if (typeof body.entityName !== 'string') throw new EncodeError('body.entityName', 'a string on a request chunk');
      w.u8(et);
      w.str(body.entityName);
    }
    writeHex(w, body.data, 'body.data');
    return w.take();
  } finally {
    w.reset();
  }
}

/** Header + body bytes of a message, ignoring header.multipart (for splitting). */
export function encodeUnsplit(msg: Message): Buffer {
  return encodeMessage(msg.header.multipart === null ? msg : { ...msg, header: { ...msg.header, multipart: null } });
}
