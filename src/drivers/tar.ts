/**
 * Reads an npm package tarball (.tgz: gzip + tar, ustar with pax or GNU long names) into memory. Only regular
 * files are kept; entries that would land outside the package (absolute paths, `..`) are refused.
 */
import { gunzipSync } from 'node:zlib';
import { DriverError } from './errors.js';

/** Path (the leading `package/` of npm tarballs removed) → contents. */
export type TarFiles = Map<string, Buffer>;

const MAX_UNPACKED = 64 * 1024 * 1024;

function field(buf: Buffer, start: number, len: number): string {
  const raw = buf.subarray(start, start + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? len : nul).toString('utf8');
}

function octal(buf: Buffer, start: number, len: number): number {
  const s = field(buf, start, len).trim();
  return s === '' ? 0 : Number.parseInt(s, 8);
}

function paxPath(data: Buffer): string | undefined {
  // Records: "<len> <key>=<value>\n"
  let i = 0;
  let path: string | undefined;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp === -1) break;
    const len = Number(data.subarray(i, sp).toString('ascii'));
    if (!Number.isFinite(len) || len <= 0) break;
    const rec = data.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0 && rec.slice(0, eq) === 'path') path = rec.slice(eq + 1);
    i += len;
  }
  return path;
}

/** Unpacks a .tgz (or plain .tar) held in memory. Throws DriverError TPX_DRIVER_PACKAGE when it is not one. */
export function readTarball(data: Buffer, source: string): TarFiles {
  let tar: Buffer;
  try {
    tar = data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data, { maxOutputLength: MAX_UNPACKED }) : data;
  } catch (err) {
    throw new DriverError('TPX_DRIVER_PACKAGE', `${source} is not a gzip tarball: ${(err as Error).message}`, {
      source,
    });
  }
  const entries: [string[], Buffer][] = [];
  let off = 0;
  let longName: string | undefined;
  while (off + 512 <= tar.length) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] ?? 0x30);
    const magic = field(header, 257, 6);
    if (!Number.isFinite(size) || size < 0 || (magic !== 'ustar' && magic !== 'ustar ' && magic !== '')) {
      throw new DriverError('TPX_DRIVER_PACKAGE', `${source} is not a tar archive`, { source });
    }
    const body = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      longName = paxPath(body) ?? longName;
      continue;
    }
    if (type === 'L') {
      longName = field(body, 0, body.length);
      continue;
    }
    if (type === 'g') continue;
    const prefix = magic.startsWith('ustar') ? field(header, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    if (type !== '0' && type !== '\0' && type !== '7') continue;
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    if (name.startsWith('/') || parts.includes('..')) {
      throw new DriverError('TPX_DRIVER_PACKAGE', `${source} has an entry outside the package: ${name}`, { source });
    }
    entries.push([parts, Buffer.from(body)]);
  }
  if (entries.length === 0) throw new DriverError('TPX_DRIVER_PACKAGE', `${source} holds no files`, { source });
  // npm pack puts everything under package/; other tools use the package name: one common top folder is removed.
  const top = entries[0]![0][0];
  const strip = entries.every(([parts]) => parts.length > 1 && parts[0] === top) ? 1 : 0;
  const files: TarFiles = new Map();
  for (const [parts, body] of entries) files.set(parts.slice(strip).join('/'), body);
  return files;
}
