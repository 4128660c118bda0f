/**
 * What every command's run function receives: the IO, the environment, the settings (flags > env > profile)
 * and a shutdown signal for long-running commands. Tests build one with createTestContext().
 */
import { type CaSetting, readCaFile } from '../config/ca.js';
import { settingKey } from '../config/keys.js';
import { Settings } from '../config/settings.js';
import { CancelledError, UsageError } from '../errors.js';
import type { ThingParkClient } from '../thingpark/api.js';
import type { ThingWorxRest } from '../thingworx/rest.js';
import type { ThingParkFlags, ThingWorxFlags } from './clients.js';
import { createTestIO, type IO, type TestIO } from './io.js';
import { durationOption, TIMEOUT_RANGE } from './options.js';

export interface GlobalOptions {
  json?: boolean;
  profile?: string;
  verbose?: boolean;
  quiet?: boolean;
  yes?: boolean;
  color?: boolean;
  /** --timeout: longest wait of one outgoing HTTP call (a duration). */
  timeout?: string;
}

/** A value a command read from a file it was given (`-f ci.json`): the file, the field's path in it, the value. */
export interface FileValue {
  path: string;
  field: string;
  value: unknown;
}

export class CommandContext {
  private settingsCache: Settings | undefined;
  private shutdown: AbortController | undefined;
  private interruption: { dispose: () => void } | undefined;
  private readonly clients = new Map<string, Promise<unknown>>();
  /** Settings this command asked for at a prompt (so that it can offer to save them). */
  readonly prompted: { key: string; value: string }[] = [];

  constructor(
    readonly io: IO,
    readonly env: NodeJS.ProcessEnv,
    readonly globals: GlobalOptions,
    /** Process hooks; tests replace them. */
    readonly process: {
      on(signal: 'SIGINT' | 'SIGTERM', fn: () => void): void;
      off(signal: 'SIGINT' | 'SIGTERM', fn: () => void): void;
      exit(code: number): void;
    } = defaultProcess,
  ) {}

  /** Set by the commands that create the profile they are given (`profile set`): no "unknown profile" error. */
  profileMayBeNew = false;

  /**
   * Settings of the active profile (read lazily: commands that need none never touch the file). A profile named
   * with --profile or TPX_PROFILE that the config file lacks is a usage error naming the existing ones (kubectl's
   * use-context), unless the command creates it.
   */
  get settings(): Settings {
    if (!this.settingsCache) {
      const settings = new Settings(this.env, this.globals.profile);
      const named = this.globals.profile || this.env.TPX_PROFILE;
      if (named && !this.profileMayBeNew && !settings.config.profiles[named]) {
        throw unknownProfile(named, Object.keys(settings.config.profiles));
      }
      this.settingsCache = settings;
      this.io.addSecrets(...settings.secrets());
    }
    return this.settingsCache;
  }

  /**
   * A value from flag, env or profile, or undefined. A secret setting's value is masked in everything this command
   * prints (env and profile secrets already are; this covers one given as a flag).
   */
  value(key: string, flagValue?: string | number | boolean): string | undefined {
    const found = this.settings.value(key, flagValue);
    if (found !== undefined && settingKey(key)?.secret) this.io.addSecrets(found);
    return found;
  }

  /**
   * A value from flag, env or profile with where it came from, as people can act on it: the flag, the variable, or
   * `profile "name" (key)`. A secret sent to a remote system is never taken silently from the environment: the
   * command says this source. Secrets are masked from then on.
   */
  sourced(key: string, flagValue?: string): { value: string; source: string } | undefined {
    const r = this.settings.get(key, flagValue);
    if (!r) return undefined;
    const meta = settingKey(key);
    if (meta?.secret) this.io.addSecrets(r.value);
    const source =
      r.source === 'flag'
        ? (meta?.flag ?? key)
        : r.source === 'env'
          ? (meta?.env ?? key)
          : `profile "${this.settings.profileName}" (${key})`;
    return { value: r.value, source };
  }

  /**
   * How an error names a setting's bad value, by where it came from: the flag, a field of a file the command read
   * (`configuration.pipeCount in ci.json`: between the flag and the environment), the TPX_* variable, or
   * `key in profile "name"` (the flag when the setting is not set). `o.flag` names the flag of a value that is no
   * setting of config/keys.ts (a connection field such as --downlink-port).
   */
  valueLabel(key: string, flagValue?: string, o: { file?: FileValue; flag?: string } = {}): string {
    const meta = settingKey(key);
    const flag = o.flag ?? meta?.flag ?? key;
    if (flagValue !== undefined && flagValue !== '') return flag;
    if (o.file && o.file.value !== undefined && o.file.value !== null) return `${o.file.field} in ${o.file.path}`;
    const r = this.settings.get(key);
    if (r?.source === 'env') return meta?.env ?? key;
    if (r?.source === 'profile') return `${key} in profile "${this.settings.profileName}"`;
    return flag;
  }

  /** The PEM contents of the CA file a setting names (flag, env or profile), or undefined when none is set. */
  ca(key: CaSetting, flagValue?: string): string | undefined {
    const path = this.value(key, flagValue);
    return path ? readCaFile(path, key) : undefined;
  }

  /** A value from flag, env or profile; when missing, prompts on a TTY (hidden for secrets), else a usage error. */
  async resolve(
    key: string,
    flagValue: string | number | boolean | undefined,
    prompt?: { message: string; secret?: boolean; validate?: (v: string) => string | true },
  ): Promise<string> {
    const found = this.value(key, flagValue);
    if (found !== undefined) return found;
    if (prompt && this.io.canPrompt()) {
      // An empty answer asks again (a required value), as does one the setting's own check refuses.
      const validate = (v: string): string | true =>
        v.trim() === '' ? 'A value is required (Ctrl-C cancels).' : (prompt.validate?.(v.trim()) ?? true);
      const raw = prompt.secret
        ? await this.io.prompt.password(prompt.message, { validate })
        : await this.io.prompt.input(prompt.message, { validate });
      const answer = raw.trim();
      if (prompt.secret || settingKey(key)?.secret) this.io.addSecrets(answer);
      this.prompted.push({ key, value: answer });
      return answer;
    }
    return this.settings.require(key, flagValue);
  }

  /** The longest wait of one outgoing HTTP call: --timeout > TPX_TIMEOUT > profile > 30 s. */
  timeoutMs(): number {
    const raw = this.settings.value('timeout', this.globals.timeout);
    return durationOption(this.valueLabel('timeout', this.globals.timeout), raw, TIMEOUT_RANGE) ?? 30_000;
  }

  /** The ThingPark API client of this command, built once (lazy factory, as gh's cmdutil Factory). */
  thingpark(flags: ThingParkFlags = {}): Promise<ThingParkClient> {
    return this.client('thingpark', async () => (await import('./clients.js')).thingparkClient(this, flags));
  }

  /** A ThingWorx REST client of this command, built once per application-key setting. */
  thingworx(
    flags: ThingWorxFlags = {},
    appKeySetting: 'thingworxAppKey' | 'thingworxAdminKey' = 'thingworxAppKey',
  ): Promise<ThingWorxRest> {
    return this.client(`thingworx:${appKeySetting}`, async () =>
      (await import('./clients.js')).thingworxClient(this, flags, appKeySetting),
    );
  }

  /** The AlwaysOn pool (as a sink) and the REST directory for ThingWorx, assembled by bridge/connect.ts. */
  pool(flags: ThingWorxFlags & { pipeCount?: number } = {}) {
    return this.client('pool', async () => (await import('./clients.js')).thingworxPool(this, flags));
  }

  private client<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.clients.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      this.clients.set(key, p);
      p.catch(() => this.clients.delete(key));
    }
    return p;
  }

  /** Asks for confirmation of a destructive step: --yes confirms; without a TTY it is a usage error. */
  async confirm(message: string, yesFlagHint = '--yes'): Promise<boolean> {
    if (this.globals.yes) return true;
    if (!this.io.stdinIsTTY || this.io.json) {
      // The question as a statement: 'Delete connection 1101 "ci": needs confirmation.', not '…"ci"? needs …'.
      const what = message.replace(/\?\s*$/, '');
      throw new UsageError(`${what}: needs confirmation.`, `Run it again with ${yesFlagHint} to confirm.`);
    }
    return this.io.prompt.confirm(message, { default: false });
  }

  /**
   * Until the command takes the signals itself (shutdownSignal), the first SIGINT or SIGTERM cancels it: `cancelled`
   * rejects with the cancel error (TPX_CANCELLED with details.signal), which the App renders as Ctrl-C at a prompt
   * (one JSON document with --json, "Cancelled." on stderr) before it exits (130, 143). dispose() when the command
   * is done.
   */
  cancelOnSignal(): { cancelled: Promise<never>; fired: () => boolean; dispose: () => void } {
    let fired = false;
    let reject: (err: unknown) => void = () => undefined;
    const cancelled = new Promise<never>((_, r) => {
      reject = r;
    });
    const handlers = (['SIGINT', 'SIGTERM'] as const).map((name) => {
      const fn = () => {
        if (fired) return;
        fired = true;
        reject(cancelledBy(name));
      };
      this.process.on(name, fn);
      return [name, fn] as const;
    });
    const dispose = () => {
      for (const [name, fn] of handlers) this.process.off(name, fn);
      if (this.interruption === interruption) this.interruption = undefined;
    };
    const interruption = { dispose };
    this.interruption = interruption;
    return { cancelled, fired: () => fired, dispose };
  }

  /**
   * An AbortSignal aborted on the first SIGINT or SIGTERM (stop cleanly); a second signal exits at once
   * with code 130. Call release() when the long-running work is done.
   */
  shutdownSignal(): { signal: AbortSignal; release: () => void } {
    this.interruption?.dispose(); // the command stops itself from now on
    if (!this.shutdown) {
      const ctl = new AbortController();
      this.shutdown = ctl;
      let count = 0;
      const handler = () => {
        count += 1;
        if (count === 1) {
          this.io.clearStatus();
          ctl.abort(new Error('stopped by signal'));
        } else {
          this.process.exit(130);
        }
      };
      this.process.on('SIGINT', handler);
      this.process.on('SIGTERM', handler);
      const release = () => {
        this.process.off('SIGINT', handler);
        this.process.off('SIGTERM', handler);
      };
      (ctl as AbortController & { release?: () => void }).release = release;
    }
    const ctl = this.shutdown as AbortController & { release?: () => void };
    return { signal: ctl.signal, release: () => ctl.release?.() };
  }
}

/** The exit code of a command cancelled by a signal: 128 + its number, as a shell reports it. */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * The error of a command cancelled by a signal, or by Ctrl-C at a prompt (SIGINT): TPX_CANCELLED, its exit code
 * from SIGNAL_EXIT_CODES (exitCodeOf).
 */
export function cancelledBy(signal: keyof typeof SIGNAL_EXIT_CODES): CancelledError {
  return new CancelledError(signal === 'SIGINT' ? 'Cancelled.' : `Cancelled (${signal}).`, { signal });
}

/** The usage error for a profile the config file does not have. */
export function unknownProfile(name: string, existing: string[]): UsageError {
  const list = existing.length ? `Existing profiles: ${existing.sort().join(', ')}.` : 'There are no profiles yet.';
  return new UsageError(
    `No profile named "${name}". ${list}`,
    `${existing.length ? 'Use one of them, or create' : 'Create'} it with: tpx --profile ${name} profile set <key> <value>`,
  );
}

const defaultProcess = {
  on: (s: 'SIGINT' | 'SIGTERM', fn: () => void) => {
    process.on(s, fn);
  },
  off: (s: 'SIGINT' | 'SIGTERM', fn: () => void) => {
    process.off(s, fn);
  },
  exit: (code: number) => process.exit(code),
};

export interface TestContext extends TestIO {
  ctx: CommandContext;
}

/** A context for in-process command tests: output captured, prompts answered from `answers`. */
export function createTestContext(
  options: Parameters<typeof createTestIO>[0] & { globals?: GlobalOptions } = {},
): TestContext {
  const globals = options.globals ?? {};
  const t = createTestIO({ ...options, json: options.json ?? globals.json, yes: options.yes ?? globals.yes });
  const ctx = new CommandContext(t.io, options.env ?? {}, { ...globals, json: t.io.json, yes: t.io.yes });
  return { ...t, ctx };
}
