/** Errors of the AlwaysOn codec: ProtocolError for bytes that cannot be decoded, EncodeError for a bad message model. */
import { ExitCode, TpxError } from '../../errors.js';

/**
 * The bytes are not a valid AlwaysOn frame (or primitive, infotable, body). `offset` is the byte offset in the input
 * where decoding failed and `expected` says what should have been there. Exit code 2: the input is at fault.
 */
export class ProtocolError extends TpxError {
  readonly offset: number;
  readonly expected: string;

  constructor(offset: number, expected: string, found?: string) {
    super(
      'TPX_PROTOCOL',
      `Malformed AlwaysOn data at byte ${offset}: expected ${expected}${found === undefined ? '' : `, found ${found}`}.`,
      {
        fix: 'Check that the input is one complete AlwaysOn frame (hex of the WebSocket binary payload, no framing).',
        exitCode: ExitCode.USAGE,
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
        fix: 'Correct the message (the format is the one printed by `tpx alwayson decode --json`).',
        exitCode: ExitCode.USAGE,
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
