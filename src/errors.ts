/**
 * One error hierarchy for all of tpx (modelled on undici's coded errors).
 * Every error has a stable `code`, a one-line `fix` telling the user what to do, and the exit code the CLI uses.
 * Only the CLI renders errors; library code throws them.
 */

export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  CHECK_FAILED: 3,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface TpxErrorOptions {
  /** What the user should do next, one line. */
  fix?: string;
  cause?: unknown;
  exitCode?: ExitCodeValue;
  /** Extra machine-readable details, printed under `error.details` with --json. */
  details?: Record<string, unknown>;
}

export class TpxError extends Error {
  readonly code: string;
  readonly fix: string | undefined;
  readonly exitCode: ExitCodeValue;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: TpxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.fix = options.fix;
    this.exitCode = options.exitCode ?? ExitCode.FAILURE;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.fix ? { fix: this.fix } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** Bad flags, missing values, malformed input given on the command line: exit 2. */
export class UsageError extends TpxError {
  constructor(message: string, fix?: string, details?: Record<string, unknown>) {
    super('TPX_USAGE', message, { fix, exitCode: ExitCode.USAGE, details });
  }
}

/** A diagnosis found problems (e.g. `tpx thingworx check`): exit 3. The result has already been printed. */
export class CheckFailedError extends TpxError {
  constructor(message: string, fix?: string) {
    super('TPX_CHECK_FAILED', message, { fix, exitCode: ExitCode.CHECK_FAILED });
  }
}

/** The user declined a confirmation prompt. */
export class CancelledError extends TpxError {
  constructor(message = 'Cancelled.') {
    super('TPX_CANCELLED', message, { exitCode: ExitCode.FAILURE });
  }
}

export function isTpxError(err: unknown): err is TpxError {
  return err instanceof TpxError;
}
