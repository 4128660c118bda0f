import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

// Tests must pass on a clone without ../shared: vectors are copied into test/fixtures/ as they are.
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' ? [] : files(p);
    return p.endsWith('.ts') || p.endsWith('.js') ? [p] : [];
  });
}

describe('the test suite is self-contained', () => {
  it('no test reads from ../shared', () => {
    const self = join(ROOT, 'test', 'self-contained.test.ts');
    const offenders = files(join(ROOT, 'test'))
      .concat(files(join(ROOT, 'bench')))
      .filter((f) => f !== self)
      .filter((f) => /['"`/]\.\.\/(\.\.\/)*shared\/|'\.\.', 'shared'/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ROOT, f));
    expect(offenders).toEqual([]);
  });
});
