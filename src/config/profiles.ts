/**
 * Profiles: `$XDG_CONFIG_HOME/tpx/config.json` (or `~/.config/tpx/config.json`), mode 0600, created on first write.
 * Shape: { "current": "default", "profiles": { "<name>": { "<key>": "<value>" } } }.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { TpxError, UsageError } from '../errors.js';

export type ProfileValues = Record<string, string>;

export interface ConfigFile {
  current?: string;
  profiles: Record<string, ProfileValues>;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TPX_CONFIG_DIR) return env.TPX_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'tpx');
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'config.json');
}

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function validateProfileName(name: string): string {
  if (!PROFILE_NAME.test(name)) {
    throw new UsageError(
      `Invalid profile name "${name}".`,
      'Use letters, digits, ".", "_" or "-" (at most 64 characters), starting with a letter or digit.',
    );
  }
  return name;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): ConfigFile {
  const path = configPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
    throw new TpxError('TPX_CONFIG_READ', `Cannot read ${path}: ${(err as Error).message}`, {
      fix: 'Check the file permissions, or remove the file to start again.',
      cause: err,
    });
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    const obj = parsed as { current?: unknown; profiles?: unknown };
    const profiles: Record<string, ProfileValues> = {};
    if (obj.profiles && typeof obj.profiles === 'object') {
      for (const [name, values] of Object.entries(obj.profiles as Record<string, unknown>)) {
        if (!values || typeof values !== 'object') continue;
        const clean: ProfileValues = {};
        for (const [k, v] of Object.entries(values as Record<string, unknown>)) {
          if (v !== null && v !== undefined) clean[k] = String(v);
        }
        profiles[name] = clean;
      }
    }
    return { current: typeof obj.current === 'string' ? obj.current : undefined, profiles };
  } catch (err) {
    throw new TpxError('TPX_CONFIG_PARSE', `${path} is not valid: ${(err as Error).message}`, {
      fix: `Fix the JSON by hand, or move the file away and recreate profiles with "tpx profile set".`,
      cause: err,
    });
  }
}

/** Writes the config atomically with mode 0600. */
export function writeConfig(config: ConfigFile, env: NodeJS.ProcessEnv = process.env): string {
  const path = configPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return path;
}

/** The profile in use: --profile, then TPX_PROFILE, then the file's `current`, then "default". */
export function activeProfileName(flag: string | undefined, config: ConfigFile, env: NodeJS.ProcessEnv): string {
  return flag || env.TPX_PROFILE || config.current || 'default';
}

/** Sets (or with value undefined, removes) one key of a profile and saves the file. */
export function updateProfile(
  name: string,
  changes: Record<string, string | undefined>,
  env: NodeJS.ProcessEnv = process.env,
): string {
  validateProfileName(name);
  const config = readConfig(env);
  const profile = { ...(config.profiles[name] ?? {}) };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete profile[k];
    else profile[k] = v;
  }
  config.profiles[name] = profile;
  return writeConfig(config, env);
}
