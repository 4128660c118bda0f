import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

// `tpx --help` must stay fast: command files load services inside their actions (await import()).
// Top-level imports of command files may only be light modules.
const LIGHT = [
  /^commander$/,
  /^node:/,
  /^\.\.\/(app|context|io|completion|options|phrases)\.js$/,
  /^\.\/[a-z-]+\.js$/,
  /^\.\.\/\.\.\/errors\.js$/,
  /^\.\.\/\.\.\/util\/(hex|duration)\.js$/,
  /^\.\.\/\.\.\/thingworx\/template-name\.js$/,
  /^\.\.\/\.\.\/config\/(keys|secrets|profiles|settings)\.js$/,
];

describe('command files import only light modules at top level', () => {
  const dir = join(ROOT, 'src', 'cli', 'commands');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  it('has command files', () => {
    expect(files.length).toBeGreaterThan(5);
  });
  for (const f of files) {
    it(f, () => {
      const text = readFileSync(join(dir, f), 'utf8');
      const heavy: string[] = [];
      for (const m of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)) {
        if (m[1]) continue; // type-only imports vanish at run time
        const spec = m[2]!;
        const clause = m[0];
        if (/^import\s+\{[^}]*\}/.test(clause) && [...clause.matchAll(/\b(type\s+)?\w+/g)].length > 0) {
          const names = clause
            .slice(clause.indexOf('{') + 1, clause.indexOf('}'))
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
          if (names.length > 0 && names.every((n) => n.startsWith('type '))) continue;
        }
        if (!LIGHT.some((re) => re.test(spec))) heavy.push(spec);
      }
      expect(
        heavy,
        `${f} imports at top level: ${heavy.join(', ')} (load them with await import() in the action)`,
      ).toEqual([]);
    });
  }
});
