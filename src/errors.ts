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
type NoData = Record<never, never>;

/** Every phrase by id, with the data its words need. */
export interface PhraseData {
  /** Set the setting (it is missing). */
  'setting-missing': { setting: string };
  /** Set the setting to a whole number in range. */
  'setting-range': { setting: string; min: number; max: number };
  /** Check the setting: it is not a usable URL (`format` says the expected form). */
  'setting-url': { setting: string; format: string };
  /** The AlwaysOn requests queue is full. */
  'alwayson-busy': NoData;
  /** AUTH refused the application key. */
  'alwayson-auth': NoData;
  /** The AlwaysOn WebSocket did not open: `tls` when the cause is TLS. */
  'alwayson-connect': { tls: boolean };
  /** The ThingWorx certificate is not trusted: give a CA. */
  'thingworx-ca': NoData;
  /** The ThingWorx application key is refused: make one in Composer. */
  'thingworx-app-key': NoData;
  /** The Thing Template is missing: import it. */
  'import-template': { template: string };
  /** The Thing Template has the wrong base: make one on `base` under a new name. */
  'template-base': { base: string };
  /** The Thing Template lacks properties: import-template adds them. */
  'template-add-properties': { template: string };
  /** Thing Template not found (by the name given). */
  'template-name': { template: string };
  /** Ghost sessions hold binds: stop other connectors, close them, or Last in wins. */
  'ghost-sessions': NoData;
  /** Close the ghost sessions with an administrator's key. */
  'close-ghost-sessions': NoData;
  /** The certificate names another host: use that name in the ThingWorx URL. */
  'tls-hostname': NoData;
  /** pipeCount out of range (tpx explain). */
  'pipe-count': NoData;
  /** The device cap. */
  'device-limit': NoData;
  /** The administrator key did not work (for `what`: reading the policy, listing sessions). */
  'admin-key-invalid': { what: 'policy' | 'sessions' };
  /** An administrator key is needed (for `what`). */
  'admin-key-needed': { what: 'policy' | 'sessions' };
  /** A probe is needed: tpx creates, binds and deletes one. */
  'write-probe': { what: 'bind' | 'create' };
  /** The ghost sessions were closed on request. */
  'closed-on-request': NoData;
  /** TLS not verified (the insecure setting). */
  'not-verified': NoData;
  /** Setup: the Bind Protection Policy was not found by its default names. */
  'setup-bind-policy-names': NoData;
  /** Setup: the application key belongs to another user. */
  'setup-key-owner': { user: string };
  /** Setup: the template exists with the wrong shape. */
  'setup-template-shape': NoData;
  /** Setup: the administrator credentials lack a right, or were rejected (401). */
  'setup-admin-credentials': { rejected: boolean };
  /** Setup: a step failed for another reason. */
  'setup-failed': NoData;
  /** HTTP Basic cannot carry this user name: use an administrator's key. */
  'admin-key-instead': NoData;
  /** The bridge verifies tokens but has no AS key. */
  'bridge-as-key': NoData;
  /** The bridge cannot listen there (`inUse`: another process has the port). */
  'bridge-listen': { inUse: boolean };
  /** The bridge's Thing Template is missing. */
  'bridge-template-missing': NoData;
  /** The spool directory is not writable. */
  'spool-dir-writable': NoData;
  /** Another bridge holds the spool. */
  'spool-locked': NoData;
  /** The fleet broker did not answer (`auth`: it refused the user, password or virtual host). */
  'fleet-broker': { auth: boolean };
  /** The AlwaysOn input (a frame to decode, a message to encode) is wrong. */
  'alwayson-input': { what: 'frame' | 'message' };
  /** Stop (deactivate) an Actility-hosted ThingWorx connection on ThingPark. */
  'stop-hosted-connection': { connectionId: string; name: string };
  /** Looking for an Actility-hosted connection needs the ThingPark API settings. */
  'thingpark-settings-needed': NoData;
  /** Naming the session holding a Thing needs an administrator key. */
  'holder-needs-admin-key': NoData;
  /** No AlwaysOn session binds the Thing: check the bridge and who should hold it. */
  'thing-not-bound': { thing: string };
  /** The session holding the Thing does not answer (a ghost): find and close it. */
  'thing-holder-silent': { thing: string };
  /** Find who holds the Things: every session of the key, and the holder of one Thing. */
  'find-holder': NoData;
  /** Test the whole ThingWorx set-up at once (the check command). */
  'thingworx-check': NoData;
  /** Setup: the new key may not create the Thing Template: check it, or import the template. */
  'setup-template-denied': NoData;
  /** No Thing by that name: list the device Things. */
  'thing-not-found': NoData;
  /** ThingPark refused the OAuth2 client id and secret. */
  'thingpark-client': NoData;
  /** The access token was refused: the client belongs to another instance or API flavour. */
  'thingpark-flavour': NoData;
  /** Check a connection against the list (`what`: its id after a 404; whether a POST created it after a 5xx). */
  'connection-list': { what: 'id' | 'created' };
  /** ThingPark's connection maximum is reached: delete one. */
  'connection-delete': NoData;
  /** Where the bridge's dead letters are listed. */
  'dead-letters': NoData;
  /** An emulator cannot listen (`inUse`: another process has the port). */
  'emulator-listen': { inUse: boolean };
  /** An emulator's state file cannot be read (`what`: the path is wrong, or the file is not a state file). */
  'emulator-state': { what: 'path' | 'content' };
}

export type PhraseId = keyof PhraseData;

/** A phrase as data: its id and the data its words need. */
export type PhraseRef = { [K in PhraseId]: { readonly id: K } & Readonly<PhraseData[K]> }[PhraseId];

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

/** The user declined a confirmation prompt, or interrupted the command (details.signal: the CLI exits 128+n). */
export class CancelledError extends TpxError {
  constructor(message = 'Cancelled.', details?: { signal: string }) {
    super('TPX_CANCELLED', message, { exitCode: ExitCode.FAILURE, ...(details ? { details } : {}) });
  }
}

export function isTpxError(err: unknown): err is TpxError {
  return err instanceof TpxError;
}
