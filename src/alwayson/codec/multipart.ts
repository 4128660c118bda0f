/**
 * Multipart messages (research/alwayson.md §7): splitting exactly as PTC's C SDK does, and reassembly of chunks
 * that arrive in any order, with bounded memory.
 */
import { bodyKindOf } from './body.js';
import { EncodeError, ProtocolError } from './errors.js';
import { encodeChunk, encodeMessage, encodeUnsplit, limitsOf, parseFrame, readBodyTrailing } from './message.js';
import { asBuffer, Reader } from './reader.js';
import {
  type CodecLimits,
  type DecodedMessage,
  HEADER_SIZE,
  type Message,
  type MessageHeader,
  MULTIPART_HEADER_SIZE,
} from './types.js';

const FRAME_OVERHEAD = HEADER_SIZE + MULTIPART_HEADER_SIZE;

export interface SplitOptions {
  /** permessage-deflate is active on the connection: the C SDK then budgets 4 bytes less per chunk (§1.5, §7). */
  deflate?: boolean;
}

/**
 * Splits a message into frames for a connection whose chunk size is `chunkSize`: one frame when
 * body + 21 <= chunkSize, else chunks as §7 (request chunks repeat the entity prefix; chunk count
 * floor(body / effective) + 1, so a final empty chunk when the body is an exact multiple, as the SDK does).
 * The prefix budget uses the prefix's real length (the SDK counts a 1-byte name length even for names of 128+ bytes).
 */
export function splitMessage(
  msg: Message,
  chunkSize: number,
  limits?: CodecLimits,
  options: SplitOptions = {},
): Buffer[] {
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 0xffff) {
    throw new EncodeError('chunkSize', 'an integer from 1 to 65535', String(chunkSize));
  }
  const { maxMessageSize } = limitsOf(limits);
  const full = encodeUnsplit(msg);
  const bodyLen = full.length - HEADER_SIZE;
  if (bodyLen + FRAME_OVERHEAD > maxMessageSize) {
    throw new EncodeError(
      'body',
      `a message of at most ${maxMessageSize} bytes with headers (maxMessageSize)`,
      `${bodyLen + FRAME_OVERHEAD}`,
    );
  }
  if (bodyLen + FRAME_OVERHEAD <= chunkSize) return [full];
  const kind = bodyKindOf(full[1]!);
  if (kind !== 'request' && kind !== 'response') {
    throw new EncodeError(
      'header.code',
      `a message that fits one chunk of ${chunkSize} bytes (${msg.header.code} is never split)`,
    );
  }
  let prefixLen = 0;
  if (kind === 'request') {
    const r = new Reader(full, HEADER_SIZE + 1);
    r.str('an entity name');
    prefixLen = r.pos - HEADER_SIZE;
  }
  const effective = chunkSize - FRAME_OVERHEAD - (options.deflate ? 4 : 0) - prefixLen;
  // Chunk 1 must hold the whole entity prefix (the receiver parses it out of every chunk) and some data.
  if (effective < Math.max(1, prefixLen)) {
    const min = chunkSize - effective + Math.max(1, prefixLen);
    throw new EncodeError('chunkSize', `a chunk size of at least ${min} for this message`, String(chunkSize));
  }
  const count = Math.floor(bodyLen / effective) + 1;
  if (count > 0xffff) throw new EncodeError('chunkSize', 'a chunk size giving at most 65535 chunks', String(chunkSize));
  const body = full.subarray(HEADER_SIZE);
  const prefix = body.subarray(0, prefixLen);
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const data = body.subarray(i * effective, Math.min((i + 1) * effective, bodyLen));
    const extra = i > 0 ? prefixLen : 0;
    const f = Buffer.allocUnsafe(FRAME_OVERHEAD + extra + data.length);
    full.copy(f, 0, 0, HEADER_SIZE - 1);
    f[14] = 1;
    f.writeUInt16BE(i + 1, 15);
    f.writeUInt16BE(count, 17);
    f.writeUInt16BE(chunkSize, 19);
    if (extra) prefix.copy(f, FRAME_OVERHEAD);
    data.copy(f, FRAME_OVERHEAD + extra);
    frames.push(f);
  }
  return frames;
}

/**
 * The frames of a message in any of the three forms decodeMessage / Reassembler produce: a single message
 * (split when `chunkSize` is given), one chunk (body.kind 'chunk'), or a reassembled message (header.multipart
 * {chunkCount, chunkSize}: split again at that chunk size, trying the deflate budget if the chunk count differs).
 */
export function encodeFrames(msg: Message, options: { chunkSize?: number; limits?: CodecLimits } = {}): Buffer[] {
  const mp = msg.header.multipart;
  if (mp === null) {
    return options.chunkSize === undefined
      ? [encodeMessage(msg)]
      : splitMessage(msg, options.chunkSize, options.limits);
  }
  if (mp.chunkId !== undefined || msg.body.kind === 'chunk') return [encodeChunk(msg)];
  const size = options.chunkSize ?? mp.chunkSize;
  const frames = splitMessage(msg, size, options.limits);
  if (options.chunkSize !== undefined || frames.length === mp.chunkCount) return frames;
  const deflated = splitMessage(msg, size, options.limits, { deflate: true });
  if (deflated.length === mp.chunkCount) return deflated;
  throw new EncodeError(
    'header.multipart.chunkCount',
    `${frames.length} (the chunk count §7 gives at chunk size ${size})`,
    String(mp.chunkCount),
  );
}

export interface ReassemblerOptions extends CodecLimits {
  /** Incomplete chunk sets older than this are dropped (C SDK: 50 000 ms). */
  staleMs?: number;
  /** Most incomplete messages kept at once; the oldest is dropped beyond. Default 32. */
  maxPending?: number;
  /** Most chunk bytes held at once over all incomplete messages. Default 4 × maxMessageSize. */
  maxPendingBytes?: number;
  /** Clock (for tests). */
  now?: () => number;
  /** Told of every incomplete message dropped without an error: too old (`stale`) or pushed out by newer ones. */
  onDrop?: (dropped: DroppedChunks) => void;
}

/** An incomplete multipart message the reassembler gave up on. */
export interface DroppedChunks {
  code: number;
  requestId: number;
  received: number;
  chunkCount: number;
  reason: 'stale' | 'evicted';
}

/** A chunk as parseFrame reads it. */
type Chunk = Extract<ReturnType<typeof parseFrame>, { chunk: unknown }>['chunk'];

interface Pending {
  created: number;
  header: MessageHeader;
  headerFromFirst: boolean;
  kind: 'request' | 'response';
  chunkCount: number;
  chunkSize: number;
  prefix: Buffer;
  parts: (Buffer | undefined)[];
  received: number;
  bytes: number;
}

/** Reassembles multipart messages keyed by code + requestId; chunks may arrive in any order. */
export class Reassembler {
  private readonly sets = new Map<number, Pending>();
  private held = 0;
  private readonly max: number;
  private readonly depth: number;
  private readonly staleMs: number;
  private readonly maxPending: number;
  private readonly maxPendingBytes: number;
  private readonly now: () => number;
  private readonly onDrop: ((dropped: DroppedChunks) => void) | undefined;

  constructor(options: ReassemblerOptions = {}) {
    const l = limitsOf(options);
    this.max = l.maxMessageSize;
    this.depth = l.maxDepth;
    this.staleMs = options.staleMs ?? 50_000;
    this.maxPending = Math.max(1, options.maxPending ?? 32);
    this.maxPendingBytes = options.maxPendingBytes ?? 4 * this.max;
    this.now = options.now ?? Date.now;
    this.onDrop = options.onDrop;
  }

  /** Number of incomplete messages held. */
  get pending(): number {
    return this.sets.size;
  }

  /** Bytes held by incomplete messages. */
  get pendingBytes(): number {
    return this.held;
  }

  /** Returns a whole message (a single frame, or the last missing chunk of a set), else null. */
  push(frame: Uint8Array): DecodedMessage | null {
    const now = this.now();
    this.sweep(now);
    const p = parseFrame(asBuffer(frame), this.max);
    if (!('chunk' in p)) {
      const { body, trailing } = readBodyTrailing(p.reader, p.kind, this.depth);
      return { header: p.header, body, trailing };
    }
    const c = p.chunk;
    const key = c.header.codeValue * 0x100000000 + c.header.requestId;
    const set = this.setOf(key, c, now);
    const old = set.parts[c.chunkId - 1];
    const grow = c.data.length - (old ? old.length : 0);
    this.makeRoom(key, set, grow);
    set.parts[c.chunkId - 1] = Buffer.from(c.data);
    set.bytes += grow;
    this.held += grow;
    if (!old) set.received += 1;
    if (c.chunkId === 1 && !set.headerFromFirst) {
      set.header = c.header;
      set.headerFromFirst = true;
    }
    if (set.received < set.chunkCount) return null;
    this.drop(key);
    return this.assemble(set);
  }

  /** The pending set of a chunk (checked against its earlier chunks), or a new one (not held yet). */
  private setOf(key: number, c: Chunk, now: number): Pending {
    const set = this.sets.get(key);
    if (!set) {
      return {
        created: now,
        header: c.header,
        headerFromFirst: c.chunkId === 1,
        kind: c.kind,
        chunkCount: c.chunkCount,
        chunkSize: c.chunkSize,
        prefix: Buffer.from(c.prefix),
        parts: new Array(c.chunkCount),
        received: 0,
        bytes: c.prefix.length,
      };
    }
    if (set.chunkCount !== c.chunkCount || set.chunkSize !== c.chunkSize) {
      throw new ProtocolError(
        17,
        `chunk count ${set.chunkCount} and chunk size ${set.chunkSize}, as in the earlier chunks of this message`,
        `${c.chunkCount} and ${c.chunkSize}`,
      );
    }
    if (!set.prefix.equals(c.prefix)) {
      throw new ProtocolError(
        HEADER_SIZE + MULTIPART_HEADER_SIZE,
        'the same entity type and name as the earlier chunks of this message',
        c.entityName,
      );
    }
    return set;
  }

  /** Holds the set and room for `grow` more bytes (evicting the oldest sets), or drops it and throws. */
  private makeRoom(key: number, set: Pending, grow: number): void {
    if (set.bytes + grow > this.max) {
      this.drop(key);
      throw new ProtocolError(
        HEADER_SIZE + MULTIPART_HEADER_SIZE,
        `a reassembled message of at most ${this.max} bytes (maxMessageSize)`,
        `${set.bytes + grow} bytes`,
      );
    }
    if (!this.sets.has(key)) {
      while (this.sets.size >= this.maxPending) this.drop(this.sets.keys().next().value!, 'evicted');
      this.sets.set(key, set);
      this.held += set.bytes;
    }
    while (this.held + grow > this.maxPendingBytes && this.sets.size > 1) {
      const oldest = this.sets.keys().next().value!;
      this.drop(oldest === key ? [...this.sets.keys()][1]! : oldest, 'evicted');
    }
    if (this.held + grow > this.maxPendingBytes) {
      this.drop(key);
      throw new ProtocolError(
        HEADER_SIZE + MULTIPART_HEADER_SIZE,
        `at most ${this.maxPendingBytes} bytes of pending chunks (maxPendingBytes)`,
      );
    }
  }

  /** The whole message of a complete set. */
  private assemble(set: Pending): DecodedMessage {
    const body = Buffer.concat([set.prefix, ...(set.parts as Buffer[])], set.bytes);
    // Offsets in errors count from the start of the reassembled message (as if one frame with a 15-byte header).
    const r = new Reader(body, 0, body.length, HEADER_SIZE);
    const decoded = readBodyTrailing(r, set.kind, this.depth);
    return {
      header: { ...set.header, multipart: { chunkCount: set.chunkCount, chunkSize: set.chunkSize } },
      body: decoded.body,
      trailing: decoded.trailing,
    };
  }

  /** Drops every incomplete message. */
  clear(): void {
    this.sets.clear();
    this.held = 0;
  }

  private drop(key: number, reason?: DroppedChunks['reason']): void {
    const s = this.sets.get(key);
    if (!s) return;
    this.sets.delete(key);
    this.held -= s.bytes;
    if (reason && this.onDrop) {
      const h = s.header;
      this.onDrop({
        code: h.codeValue,
        requestId: h.requestId,
        received: s.received,
        chunkCount: s.chunkCount,
        reason,
      });
    }
  }

  private sweep(now: number): void {
    for (const [key, s] of this.sets) {
      if (now - s.created <= this.staleMs) break;
      this.drop(key, 'stale');
    }
  }
}
