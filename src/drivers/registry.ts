/**
 * The drivers of a profile: `<config dir>/drivers.json` ({"profiles": {"<profile>": {"drivers": [...]}}}) with a
 * copy of each driver under `<config dir>/drivers/<profile>/<name>/`, so the bridge runs what was added even when
 * the original file or folder moves (and needs no network: tarballs are unpacked here).
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { configDir } from '../config/profiles.js';
import type { DriverSetup } from './decoder.js';
import { DriverError } from './errors.js';
import { parseDriverPackage, readDriver, readDriverFiles } from './package.js';
import type { Assignment, DriverEntry, DriverPackage } from './types.js';

interface RegistryFile {
  profiles: Record<string, { drivers: DriverEntry[] }>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const EUI = /^[0-9A-F]{16}$/;

export function registryPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'drivers.json');
}

function read(env: NodeJS.ProcessEnv): RegistryFile {
  let text: string;
  try {
    text = readFileSync(registryPath(env), 'utf8');
  } catch {
    return { profiles: {} };
  }
  try {
    const parsed = JSON.parse(text) as RegistryFile;
    return parsed && typeof parsed.profiles === 'object' ? parsed : { profiles: {} };
  } catch (err) {
    throw new DriverError('TPX_DRIVER_PACKAGE', `${registryPath(env)} is not JSON: ${(err as Error).message}`, {
      file: registryPath(env),
    });
  }
}

function write(file: RegistryFile, env: NodeJS.ProcessEnv): void {
  const path = registryPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

export function listDrivers(profile: string, env: NodeJS.ProcessEnv = process.env): DriverEntry[] {
  return read(env).profiles[profile]?.drivers ?? [];
}

export function getDriver(profile: string, name: string, env: NodeJS.ProcessEnv = process.env): DriverEntry {
  const d = listDrivers(profile, env).find((x) => x.name === name);
  if (!d)
    throw new DriverError('TPX_DRIVER_NOT_FOUND', `no driver named ${name} in profile ${profile}`, { name, profile });
  return d;
}

/** A valid driver name, or undefined. */
export function driverName(text: string): string | undefined {
  const n = text.replace(/^@[^/]+\//, '').replace(/[^A-Za-z0-9_.-]/g, '-');
  return NAME.test(n) ? n : undefined;
}

/** Parses one assignment as given on the command line; undefined when it is not valid. */
export function parseAssignment(kind: Assignment['type'], text: string): Assignment | undefined {
  const hex = (s: string) => s.replace(/[-:\s]/g, '').toUpperCase();
  if (kind === 'deveui') {
    const e = hex(text);
    return EUI.test(e) ? { type: 'deveui', devEui: e } : undefined;
  }
  if (kind === 'prefix') {
    const p = hex(text);
    return /^[0-9A-F]{1,16}$/.test(p) ? { type: 'prefix', prefix: p } : undefined;
  }
  if (kind === 'range') {
    const m = /^([0-9A-Fa-f:-]+)\.\.([0-9A-Fa-f:-]+)$/.exec(text.trim());
    if (!m) return undefined;
    const from = hex(m[1]!);
    const to = hex(m[2]!);
    return EUI.test(from) && EUI.test(to) && from <= to ? { type: 'range', from, to } : undefined;
  }
  const eq = text.indexOf('=');
  if (eq <= 0) return undefined;
  const path = text
    .slice(0, eq)
    .trim()
    .replace(/^DevEUI_uplink\./, '');
  const value = text.slice(eq + 1).trim();
  return /^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(path) && value !== '' ? { type: 'field', path, value } : undefined;
}

/** How an assignment reads in lists: `DevEUI 70B3…`, `prefix 70B3`, `range A..B`, `DriverCfg.id = x`. */
export function describeAssignment(a: Assignment): string {
  if (a.type === 'deveui') return `DevEUI ${a.devEui}`;
  if (a.type === 'prefix') return `prefix ${a.prefix}`;
  if (a.type === 'range') return `range ${a.from}..${a.to}`;
  return `${a.path} = ${a.value}`;
}

function driverDir(profile: string, name: string, env: NodeJS.ProcessEnv): string {
  return join(configDir(env), 'drivers', profile, name);
}

/**
 * Copies a driver (folder, tarball or .js file) into the profile and records it. Throws TPX_DRIVER_EXISTS when
 * the name is taken (unless `replace`), TPX_DRIVER_PACKAGE / TPX_DRIVER_NOT_FOUND when the source is not a driver.
 */
export function addDriver(
  profile: string,
  o: { source: string; name?: string; assign?: Assignment[]; replace?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): { entry: DriverEntry; pkg: DriverPackage } {
  const files = readDriverFiles(o.source);
  const pkg = parseDriverPackage(files, o.source);
  const name = o.name ?? driverName(pkg.name);
  if (!name || !NAME.test(name)) {
    throw new DriverError('TPX_DRIVER_PACKAGE', `"${o.name ?? pkg.name}" cannot name a driver`, {
      name: o.name ?? pkg.name,
    });
  }
  const file = read(env);
  const list = file.profiles[profile]?.drivers ?? [];
  const old = list.find((d) => d.name === name);
  if (old && !o.replace) throw new DriverError('TPX_DRIVER_EXISTS', `a driver named ${name} exists`, { name, profile });
  const dir = driverDir(profile, name, env);
  rmSync(dir, { recursive: true, force: true });
  for (const [rel, body] of files) {
    const target = join(dir, rel);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, body);
  }
  const entry: DriverEntry = {
    name,
    source: resolve(o.source),
    dir,
    assign: o.assign ?? old?.assign ?? [],
    ...(old?.template ? { template: old.template } : {}),
    addedAt: new Date().toISOString(),
  };
  file.profiles[profile] = { drivers: [...list.filter((d) => d.name !== name), entry] };
  write(file, env);
  return { entry, pkg };
}

export function removeDriver(profile: string, name: string, env: NodeJS.ProcessEnv = process.env): DriverEntry {
  const entry = getDriver(profile, name, env);
  const file = read(env);
  file.profiles[profile] = { drivers: (file.profiles[profile]?.drivers ?? []).filter((d) => d.name !== name) };
  write(file, env);
  rmSync(entry.dir, { recursive: true, force: true });
  return entry;
}

/** Changes a driver's record (assignments, template). */
export function updateDriver(
  profile: string,
  name: string,
  change: (e: DriverEntry) => DriverEntry,
  env: NodeJS.ProcessEnv = process.env,
): DriverEntry {
  const updated = change(getDriver(profile, name, env));
  const file = read(env);
  file.profiles[profile] = {
    drivers: (file.profiles[profile]?.drivers ?? []).map((d) => (d.name === name ? updated : d)),
  };
  write(file, env);
  return updated;
}

/** A driver of the profile by name, or a path to a driver not added (for decode/encode/test on a work copy). */
export function resolveDriver(
  profile: string,
  nameOrPath: string,
  env: NodeJS.ProcessEnv = process.env,
): { entry?: DriverEntry; pkg: DriverPackage; name: string } {
  const entry = listDrivers(profile, env).find((d) => d.name === nameOrPath);
  if (entry) return { entry, pkg: readDriver(entry.dir), name: entry.name };
  if (!/[/\\.]/.test(nameOrPath)) {
    throw new DriverError('TPX_DRIVER_NOT_FOUND', `no driver named ${nameOrPath} in profile ${profile}`, {
      name: nameOrPath,
      profile,
    });
  }
  const pkg = readDriver(nameOrPath);
  return { pkg, name: driverName(pkg.name) ?? 'driver' };
}

/** The profile's drivers, ready for DriverDecoder.start. */
export function profileSetups(profile: string, env: NodeJS.ProcessEnv = process.env): DriverSetup[] {
  return listDrivers(profile, env).map((e) => ({
    name: e.name,
    pkg: readDriver(e.dir),
    assign: e.assign,
    ...(e.template ? { template: e.template } : {}),
  }));
}
