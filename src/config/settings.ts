/**
 * Resolves settings: flag > environment variable > profile file > default.
 * Knows nothing of the CLI: prompting is injected by the caller.
 */
import { UsageError } from '../errors.js';
import { SETTINGS, type SettingKey, settingKey } from './keys.js';
import { activeProfileName, type ConfigFile, type ProfileValues, readConfig } from './profiles.js';

export type SettingSource = 'flag' | 'env' | 'profile' | 'default' | 'prompt';

export interface ResolvedSetting {
  key: string;
  value: string;
  source: SettingSource;
}

export class Settings {
  readonly profileName: string;
  readonly profile: ProfileValues;
  readonly config: ConfigFile;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    profileFlag: string | undefined,
    config?: ConfigFile,
  ) {
    this.config = config ?? readConfig(env);
    this.profileName = activeProfileName(profileFlag, this.config, env);
    this.profile = this.config.profiles[this.profileName] ?? {};
  }

  /** The value of a setting, or undefined. `flagValue` is what the command's flag parsed to, if any. */
  get(key: string, flagValue?: string | number | boolean): ResolvedSetting | undefined {
    if (flagValue !== undefined && flagValue !== null && flagValue !== '') {
      return { key, value: String(flagValue), source: 'flag' };
    }
    const meta = settingKey(key);
    const envValue = meta ? this.env[meta.env] : undefined;
    if (envValue !== undefined && envValue !== '') return { key, value: envValue, source: 'env' };
    const fileValue = this.profile[key];
    if (fileValue !== undefined && fileValue !== '') return { key, value: fileValue, source: 'profile' };
    return undefined;
  }

  value(key: string, flagValue?: string | number | boolean, fallback?: string): string | undefined {
    return this.get(key, flagValue)?.value ?? fallback;
  }

  /** A yes/no setting ("true", "1", "yes", "on" are yes); a boolean flag that is set wins. */
  enabled(key: string, flag?: boolean): boolean {
    return truthy(this.value(key, flag ? 'true' : undefined));
  }

  /** Like value(), but a missing setting is a usage error that names the flag and the environment variable. */
  require(key: string, flagValue?: string | number | boolean): string {
    const v = this.value(key, flagValue);
    if (v === undefined) throw missingSetting(key);
    return v;
  }

  /** Every secret value currently known (for output redaction). */
  secrets(): string[] {
    const out: string[] = [];
    for (const s of SETTINGS) {
      if (!s.secret) continue;
      const e = this.env[s.env];
      if (e) out.push(e);
      const p = this.profile[s.key];
      if (p) out.push(p);
    }
    return out;
  }
}

export function missingSetting(key: string, meta: SettingKey | undefined = settingKey(key)): UsageError {
  if (!meta) return new UsageError(`Missing setting ${key}.`, `Set it with "tpx profile set ${key} <value>".`);
  return new UsageError(
    `Missing ${meta.description.split(' (')[0]}.`,
    `Pass ${meta.flag}, set ${meta.env}, or run "tpx profile set ${meta.key} <value>".`,
    { flag: meta.flag, env: meta.env, profileKey: meta.key },
  );
}

/** "true"/"1"/"yes"/"on" (env and profile values are strings) → true. */
export function truthy(v: boolean | string | undefined): boolean {
  if (typeof v === 'boolean') return v;
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}
