/**
 * Reading a driver from where people have it: a folder (package.json `main`, driver.yaml, examples.json,
 * uplink.schema.json, downlink.schema.json), an npm tarball (.tgz, unpacked here: nothing is fetched), or a single
 * .js file (TTN / ChirpStack style). Nothing is run here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DriverError } from './errors.js';
import { readTarball, type TarFiles } from './tar.js';
import type { DriverExample, DriverPackage, JsonSchema } from './types.js';

const MAX_FILES = 2000;
const MAX_FILE_BYTES = 16 * 1024 * 1024;
const SKIP_DIRS = new Set(['node_modules', '.git', 'coverage', 'test', 'tests', '__tests__']);

/** Reads a folder, tarball or .js file into memory (path → contents). */
export function readDriverFiles(source: string): TarFiles {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(source);
  } catch (err) {
    throw new DriverError('TPX_DRIVER_NOT_FOUND', `${source} does not exist`, {
      source,
      cause: (err as NodeJS.ErrnoException).code,
    });
  }
  if (st.isDirectory()) {
    const files: TarFiles = new Map();
    const walk = (dir: string, rel: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (files.size >= MAX_FILES) return;
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) walk(join(dir, e.name), r);
        } else if (e.isFile() && statSync(join(dir, e.name)).size <= MAX_FILE_BYTES) {
          files.set(r, readFileSync(join(dir, e.name)));
        }
      }
    };
    walk(source, '');
    return files;
  }
  if (/\.ya?ml$/i.test(source)) return codecYamlFiles(source);
  const data = readFileSync(source);
  if (/\.(tgz|tar\.gz|tar)$/i.test(source) || (data[0] === 0x1f && data[1] === 0x8b)) return readTarball(data, source);
  if (/\.(c|m)?js$/i.test(source)) return new Map([[basename(source), data]]);
  throw new DriverError('TPX_DRIVER_PACKAGE', `${source} is not a driver (a folder, a .tgz or a .js file)`, { source });
}

const TTN_SECTIONS = ['uplinkDecoder', 'downlinkEncoder', 'downlinkDecoder'] as const;

interface TtnExample {
  description?: string;
  input?: Record<string, unknown>;
  output?: Record<string, unknown>;
}
type TtnCodec = Partial<Record<(typeof TTN_SECTIONS)[number], { fileName?: string; examples?: TtnExample[] }>>;

function readYaml(text: string, file: string, source: string): unknown {
  try {
    return parseYaml(text) as unknown;
  } catch (err) {
    throw new DriverError('TPX_DRIVER_PACKAGE', `${file} in ${source} is not YAML: ${(err as Error).message}`, {
      source,
      file,
    });
  }
}

/** A TTN codec YAML given as the source: the YAML and the script(s) it names, from its folder. */
function codecYamlFiles(source: string): TarFiles {
  const text = readFileSync(source, 'utf8');
  const codec = readYaml(text, basename(source), source) as TtnCodec | null;
  const files: TarFiles = new Map([[basename(source), Buffer.from(text)]]);
  for (const section of TTN_SECTIONS) {
    const name = codec?.[section]?.fileName;
    if (typeof name === 'string' && !name.includes('..')) files.set(name, readFileSync(join(dirname(source), name)));
  }
  return files;
}

/** The codec YAML of a TTN device-repository codec, when the package has one (uplinkDecoder.fileName). */
function ttnCodec(files: TarFiles, source: string): TtnCodec | undefined {
  for (const [path, body] of files) {
    if (!/\.ya?ml$/i.test(path) || path === 'driver.yaml' || path.includes('/')) continue;
    const doc = readYaml(body.toString('utf8'), path, source) as TtnCodec | null;
    if (doc && typeof doc === 'object' && doc.uplinkDecoder) return doc;
  }
  return undefined;
}

function ttnExamples(codec: TtnCodec): DriverExample[] {
  const out: DriverExample[] = [];
  const types = {
    uplinkDecoder: 'uplink',
    downlinkEncoder: 'downlink-encode',
    downlinkDecoder: 'downlink-decode',
  } as const;
  for (const section of TTN_SECTIONS) {
    for (const e of codec[section]?.examples ?? []) {
      out.push({
        description: String(e.description ?? ''),
        type: types[section],
        input: e.input ?? {},
        output: e.output ?? {},
      });
    }
  }
  return out;
}

function json<T>(files: TarFiles, path: string, source: string): T | undefined {
  const b = files.get(path);
  if (!b) return undefined;
  try {
    return JSON.parse(b.toString('utf8')) as T;
  } catch (err) {
    throw new DriverError('TPX_DRIVER_PACKAGE', `${path} in ${source} is not JSON: ${(err as Error).message}`, {
      source,
      file: path,
    });
  }
}

/** Actility's legacy examples (examples/*.examples.json): {type: uplink|downlink, bytes (hex), fPort, time, data}. */
function legacyExamples(list: Record<string, unknown>[]): DriverExample[] {
  const out: DriverExample[] = [];
  for (const e of list) {
    const input = { bytes: e.bytes, fPort: e.fPort, ...(e.time ? { recvTime: e.time } : {}) };
    const output = { data: e.data };
    const description = String(e.description ?? '');
    if (e.type === 'uplink') out.push({ description, type: 'uplink', input, output });
    else if (e.type === 'downlink') out.push({ description, type: 'downlink-decode', input, output });
  }
  return out;
}

function examplesOf(files: TarFiles, source: string): DriverExample[] {
  const main = json<Record<string, unknown>[]>(files, 'examples.json', source);
  if (Array.isArray(main)) {
    return main.map((e) => ({
      description: String(e.description ?? ''),
      type: (e.type === 'downlink-encode' || e.type === 'downlink-decode' ? e.type : 'uplink') as DriverExample['type'],
      input: (e.input ?? {}) as Record<string, unknown>,
      output: (e.output ?? {}) as Record<string, unknown>,
    }));
  }
  const out: DriverExample[] = [];
  for (const path of [...files.keys()].sort()) {
    if (!/^examples\/.+\.examples\.json$/.test(path)) continue;
    const list = json<Record<string, unknown>[]>(files, path, source);
    if (Array.isArray(list)) out.push(...legacyExamples(list));
  }
  return out;
}

/** Reads what a driver package holds: its script, manifest, examples and schemas. */
export function parseDriverPackage(files: TarFiles, source: string): DriverPackage {
  const pkg = json<{ name?: string; version?: string; description?: string; main?: string }>(
    files,
    'package.json',
    source,
  );
  const manifest = files.has('driver.yaml')
    ? readYaml(files.get('driver.yaml')!.toString('utf8'), 'driver.yaml', source)
    : undefined;
  const yaml = (manifest && typeof manifest === 'object' ? manifest : {}) as Record<string, unknown>;
  const ttn = ttnCodec(files, source);
  const scripts = [...files.keys()].filter((p) => /\.(c|m)?js$/i.test(p) && !/(^|\/)[^/]*\.(spec|test)\.js$/.test(p));
  const candidates = [
    ttn?.uplinkDecoder?.fileName,
    pkg?.main,
    pkg?.main ? `${pkg.main}.js` : undefined,
    'index.js',
    'main.js',
    'driver.js',
  ];
  let main = candidates.find((c): c is string => c !== undefined && files.has(c.replace(/^\.\//, '')));
  main = main?.replace(/^\.\//, '');
  if (!main && scripts.length === 1) main = scripts[0];
  if (!main) {
    throw new DriverError(
      'TPX_DRIVER_PACKAGE',
      `${source} has no script to run (package.json "main", index.js, or a single .js file)`,
      { source, scripts },
    );
  }
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const name =
    str(yaml.name) && !pkg?.name ? String(yaml.name) : (pkg?.name ?? basename(main).replace(/\.(c|m)?js$/i, ''));
  return {
    name,
    version: str(pkg?.version),
    description: str(pkg?.description) ?? str(yaml.description),
    protocolId: str(yaml.protocolId),
    signature: str(yaml.signature),
    useContext: yaml.useContext === true,
    code: files.get(main)!.toString('utf8'),
    main,
    examples: files.has('examples.json') || !ttn ? examplesOf(files, source) : ttnExamples(ttn),
    uplinkSchema: json<JsonSchema>(files, 'uplink.schema.json', source),
    downlinkSchema: json<JsonSchema>(files, 'downlink.schema.json', source),
    files: [...files.keys()].sort(),
  };
}

/** Reads a driver from a folder, tarball or .js file. */
export function readDriver(source: string): DriverPackage {
  return parseDriverPackage(readDriverFiles(source), source);
}
