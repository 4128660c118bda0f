/** Errors of the AlwaysOn codec: ProtocolError for bytes that cannot be decoded, EncodeError for a bad message model. */
import { TpxError } from '../../errors.js';

/**
 * The bytes are not a valid AlwaysOn frame (or primitive, infotable, body). `offset` is the byte offset in the input
 * where decoding failed and `expected` says what should have been there. It is data about the bytes: the bridge meets
 * it at run time (a platform frame), `tpx alwayson decode` for its input (the CLI words the fix and the exit code).
 */
export class ProtocolError extends TpxError {
  readonly offset: number;
  readonly expected: string;

  constructor(offset: number, expected: string, found?: string) {
    super(
      'TPX_PROTOCOL',
      `Malformed AlwaysOn data at byte ${offset}: expected ${expected}${found === undefined ? '' : `, found ${found}`}.`,
      {
        details: { offset, expected, ...(found === undefined ? {} : { found }) },
      },
    );
    this.offset = offset;
    this.expected = expected;
  }
}

/** A message model that cannot be encoded (wrong type, value out of range, body not matching the code). */
export class EncodeError extends TpxError {
  /** Where in the message the problem is, e.g. `body.params.rows[0][1]`. */
  readonly path: string;
  readonly expected: string;

  constructor(path: string, expected: string, found?: string) {
    super(
      'TPX_ENCODE',
      `Cannot encode AlwaysOn message at ${path || '(root)'}: expected ${expected}${found === undefined ? '' : `, found ${found}`}.`,
      {
        details: { path, expected, ...(found === undefined ? {} : { found }) },
      },
    );
    this.path = path;
    this.expected = expected;
  }
}

/** A short description of a byte for error messages. */
export function hexByte(b: number): string {
  return `0x${b.toString(16).padStart(2, '0')}`;
}
