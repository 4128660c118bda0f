/** The codec as the client uses it: messages to frames (multipart when needed), frames to whole messages. */
import { type DroppedChunks, Reassembler, splitMessage } from './codec/index.js';
import type { Message } from './codec/types.js';

/** Frames of one message for a connection with this chunk size (one frame, or §7 chunks). */
export function framesOf(msg: Message, chunkSize: number, maxMessageSize?: number): Buffer[] {
  return splitMessage(msg, chunkSize, maxMessageSize === undefined ? undefined : { maxMessageSize });
}

export class FrameDecoder {
  private readonly reassembler: Reassembler;

  /** `onDrop` hears of incomplete multipart messages given up on (too old, or pushed out by newer ones). */
  constructor(maxMessageSize: number, onDrop?: (dropped: DroppedChunks) => void) {
    this.reassembler = new Reassembler({ maxMessageSize, ...(onDrop ? { onDrop } : {}) });
  }

  /** A whole message, or null while a multipart message is incomplete. Throws ProtocolError on bad bytes. */
  push(frame: Buffer): Message | null {
    return this.reassembler.push(frame);
  }

  /** Incomplete multipart messages held. */
  get incomplete(): number {
    return this.reassembler.pending;
  }
}
