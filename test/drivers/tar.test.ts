import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readTarball } from '../../src/drivers/tar.js';

/** One ustar entry (header + padded body) for a hand-made archive. */
function entry(name: string, body: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 'utf8');
  h.write('0000644\0', 100);
  h.write(`${Buffer.byteLength(body).toString(8).padStart(11, '0')}\0`, 124);
  h.write('0', 156);
  h.write('ustar\0', 257);
  const data = Buffer.alloc(Math.ceil(Buffer.byteLength(body) / 512) * 512);
  data.write(body);
  return Buffer.concat([h, data]);
}

describe('driver tarballs', () => {
  it.each(['pax', 'gnu'])('reads long paths (%s format) and removes the common top folder', (format) => {
    const dir = mkdtempSync(join(tmpdir(), 'tpx-tar-'));
    const deep = join('package', 'examples', 'a'.repeat(60), 'b'.repeat(60));
    mkdirSync(join(dir, deep), { recursive: true });
    writeFileSync(join(dir, deep, 'uplink.examples.json'), '[]');
    writeFileSync(join(dir, 'package', 'index.js'), 'function decodeUplink() {}');
    const out = join(dir, 'd.tgz');
    execFileSync('tar', [`--format=${format}`, '-czf', out, '-C', dir, 'package']);
    const files = readTarball(readFileSync(out), out);
    expect(files.get('index.js')?.toString()).toBe('function decodeUplink() {}');
    expect(files.get(`examples/${'a'.repeat(60)}/${'b'.repeat(60)}/uplink.examples.json`)?.toString()).toBe('[]');
  });

  it('refuses an entry outside the package, and what is not a tarball', () => {
    const evil = gzipSync(
      Buffer.concat([entry('package/index.js', 'x'), entry('../evil.js', 'y'), Buffer.alloc(1024)]),
    );
    expect(() => readTarball(evil, 'evil.tgz')).toThrow(/entry outside the package: \.\.\/evil\.js/);
    expect(() => readTarball(gzipSync(Buffer.from('hello')), 'x.tgz')).toThrow(/not a tar archive|holds no files/);
    expect(() => readTarball(Buffer.from([0x1f, 0x8b, 1, 2, 3]), 'y.tgz')).toThrow(/not a gzip tarball/);
  });
});
