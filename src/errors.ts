/**
 * One error hierarchy for all of tpx (modelled on undici's coded errors and ws's `code` on its errors).
 * Every error has a stable `code` (`TPX_*`), data (`details`: the setting concerned, the limit, the value got, …)
 * and a one-line `fix`. Only the CLI renders errors: it words the fix (flags and TPX_* variables from
 * src/config/keys.ts) and chooses the exit code. Library code throws errors and never names a flag.
 */

export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  CHECK_FAILED: 3,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Words for people that name a flag, a TPX_* variable or a tpx command: library code gives the id and the data,
 * src/cli/phrases.ts says the sentence (one place, flag and variable names read from src/config/keys.ts).
 * `setting` is a profile key of src/config/keys.ts (e.g. 'thingworxAppKey').
 */
export type PhraseRef =
  /** Set the setting (it is missing). */
  | { readonly id: 'setting-missing'; readonly setting: string }
  /** Set the setting to a whole number in range. */
  | { readonly id: 'setting-range'; readonly setting: string; readonly min: number; readonly max: number }
  /** Check the setting: it is not a usable URL (`format` says the expected form). */
  | { readonly id: 'setting-url'; readonly setting: string; readonly format: string }
  /** The AlwaysOn requests queue is full. */
  | { readonly id: 'alwayson-busy' }
  /** AUTH refused the application key. */
  | { readonly id: 'alwayson-auth' }
  /** The AlwaysOn WebSocket did not open: `tls` when the cause is TLS. */
  | { readonly id: 'alwayson-connect'; readonly tls: boolean }
  /** TLS verification is off (the warning of the insecure setting). */
  | { readonly id: 'tls-insecure' }
  /** The ThingWorx certificate is not trusted: give a CA. */
  | { readonly id: 'thingworx-ca' }
  /** The ThingWorx application key is refused: make one in Composer. */
  | { readonly id: 'thingworx-app-key' }
  /** The Thing Template is missing: import it. */
  | { readonly id: 'import-template'; readonly template: string }
  /** The Thing Template has the wrong base: make one on `base` under a new name. */
  | { readonly id: 'template-base'; readonly base: string }
  /** The Thing Template lacks properties: import-template adds them. */
  | { readonly id: 'template-add-properties'; readonly template: string }
  /** Thing Template not found (by the name given). */
  | { readonly id: 'template-name'; readonly template: string }
  /** Ghost sessions hold binds: stop other connectors, close them, or Last in wins. */
  | { readonly id: 'ghost-sessions' }
  /** Close the ghost sessions with an administrator's key. */
  | { readonly id: 'close-ghost-sessions' }
  /** The certificate names another host: use that name in the ThingWorx URL. */
  | { readonly id: 'tls-hostname' }
  /** pipeCount out of range (tpx explain). */
  | { readonly id: 'pipe-count' }
  /** The device cap. */
  | { readonly id: 'device-limit' }
  /** The administrator key did not work (for `what`: reading the policy, listing sessions). */
  | { readonly id: 'admin-key-invalid'; readonly what: 'policy' | 'sessions' }
  /** An administrator key is needed (for `what`). */
  | { readonly id: 'admin-key-needed'; readonly what: 'policy' | 'sessions' }
  /** A probe is needed: tpx creates, binds and deletes one. */
  | { readonly id: 'write-probe'; readonly what: 'bind' | 'create' }
  /** The ghost sessions were closed on request. */
  | { readonly id: 'closed-on-request' }
  /** TLS not verified (the insecure setting). */
  | { readonly id: 'not-verified' }
  /** Setup: the Bind Protection Policy was not found by its default names. */
  | { readonly id: 'setup-bind-policy-names' }
  /** Setup: the application key belongs to another user. */
  | { readonly id: 'setup-key-owner'; readonly user: string }
  /** Setup: the template exists with the wrong shape. */
  | { readonly id: 'setup-template-shape' }
  /** Setup: the administrator credentials lack a right, or were rejected (401). */
  | { readonly id: 'setup-admin-credentials'; readonly rejected: boolean }
  /** Setup: a step failed for another reason. */
  | { readonly id: 'setup-failed' }
  /** HTTP Basic cannot carry this user name: use an administrator's key. */
  | { readonly id: 'admin-key-instead' }
  /** The bridge verifies tokens but has no AS key. */
  | { readonly id: 'bridge-as-key' }
  /** The bridge cannot listen there (`inUse`: another process has the port). */
  | { readonly id: 'bridge-listen'; readonly inUse: boolean }
  /** The bridge's Thing Template is missing. */
  | { readonly id: 'bridge-template-missing' }
  /** The spool directory is not writable. */
  | { readonly id: 'spool-dir-writable' }
  /** Another bridge holds the spool. */
  | { readonly id: 'spool-locked' }
  /** The AlwaysOn input (a frame to decode, a message to encode) is wrong. */
  | { readonly id: 'alwayson-input'; readonly what: 'frame' | 'message' };

export type PhraseId = PhraseRef['id'];

/** Plain words (naming no flag, variable or command), a phrase the CLI words, or several said one after another. */
export type Phrase = string | PhraseRef | readonly (string | PhraseRef)[];

/** Plain words of a phrase for places outside the CLI (logs, events): parts the CLI words are left out. */
export function plainWords(p: Phrase | undefined): string | undefined {
  if (p === undefined) return undefined;
  const parts = (typeof p === 'string' || !Array.isArray(p) ? [p] : p) as (string | PhraseRef)[];
  const words = parts.filter((x): x is string => typeof x === 'string').join(' ');
  return words || undefined;
}

export interface TpxErrorOptions {
  /** What the user should do next, one line (a Phrase when it names a flag, variable or command). */
  fix?: Phrase;
  cause?: unknown;
  exitCode?: ExitCodeValue;
  /** The error's data (the setting concerned, a limit, the value got), printed under `error.details` in JSON. */
  details?: Record<string, unknown>;
}

export class TpxError extends Error {
  readonly code: string;
  readonly fix: Phrase | undefined;
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
  constructor(message: string, fix?: Phrase, details?: Record<string, unknown>) {
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
