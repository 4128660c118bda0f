/**
 * The library speaks in data, the CLI speaks to people (CONTRIBUTING.md): outside src/cli and src/config (the
 * emulators included) no string in the code names a flag (`--name`), a TPX_* variable (error codes are fine) or a tpx
 * command. Advice that would is a PhraseRef that src/cli/phrases.ts words. Comments and regular expressions
 * (texts recognised in what people paste) do not count.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/config/keys.js';
import { ROOT } from './helpers/cli.js';

const SPOKEN = ['src/cli/', 'src/config/'];

/**
 * Strings that may stay, each with its reason. A description stored on the platform with the entity it describes
 * records which command made it (data, read in Composer), not advice.
 */
const ALLOWED: { file: string; text: RegExp; why: string }[] = [
  { file: 'src/thingworx/setup.ts', text: /^ThingPark connector \(created by tpx/, why: 'entity description' },
  {
    file: 'src/thingworx/setup-steps.ts',
    text: /^ThingPark connector key \(created by tpx/,
    why: 'entity description',
  },
  { file: 'src/thingworx/check-platform.ts', text: /^tpx thingworx check probe/, why: 'entity description' },
  { file: 'src/bridge/adapters.ts', text: /^LoRaWAN device \(created by tpx bridge\)$/, why: 'entity description' },
  { file: 'src/bridge/send.ts', text: /^tpx uplink send$/, why: 'CustomerData name of a test uplink' },
  { file: 'src/emulators/tls.ts', text: /^tpx emulator$/, why: "the emulator certificate's common name" },
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** Every string literal and template part of a file, with its line. */
function strings(path: string): { line: number; text: string }[] {
  const src = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: { line: number; text: string }[] = [];
  const visit = (n: ts.Node) => {
    if (
      ts.isStringLiteral(n) ||
      ts.isNoSubstitutionTemplateLiteral(n) ||
      ts.isTemplateHead(n) ||
      ts.isTemplateMiddle(n) ||
      ts.isTemplateTail(n)
    ) {
      out.push({ line: src.getLineAndCharacterOfPosition(n.getStart()).line + 1, text: n.text });
    }
    // Import paths are module names, not words.
    if (!ts.isImportDeclaration(n) && !ts.isExportDeclaration(n)) ts.forEachChild(n, visit);
  };
  visit(src);
  return out;
}

const ENV = new Set(SETTINGS.map((s) => s.env));
const COMMANDS = [
  ...new Set(readdirSync(join(ROOT, 'src/cli/commands')).map((f) => f.replace(/(-.*)?\.ts$/, ''))),
  'fleet',
];
const COMMAND = new RegExp(`\\btpx (?:${COMMANDS.join('|')})\\b`);
const FLAG = /(?:^|[\s"'`(/,])--[a-z][a-z-]*/;
const VARIABLE = /\bTPX_[A-Z0-9_]+\b/g;

/** Why a string speaks to people, or undefined. */
function names(text: string): string | undefined {
  const flag = FLAG.exec(text);
  if (flag) return `flag ${flag[0].trim()}`;
  // A string that is only the name is an error code (TPX_THINGPARK_API is both a code and a variable).
  const variable = /^TPX_[A-Z0-9_]+$/.test(text) ? undefined : [...text.matchAll(VARIABLE)].find((m) => ENV.has(m[0]));
  if (variable) return `variable ${variable[0]}`;
  const command = COMMAND.exec(text);
  if (command) return `command "${command[0]}"`;
  return undefined;
}

describe('library code names no flag, TPX_* variable or tpx command', () => {
  it('finds none outside src/cli and src/config (word advice as a PhraseRef in src/cli/phrases.ts)', () => {
    const found: string[] = [];
    for (const path of files(join(ROOT, 'src'))) {
      const file = relative(ROOT, path).replaceAll('\\', '/');
      if (SPOKEN.some((d) => file.startsWith(d))) continue;
      for (const s of strings(path)) {
        const why = names(s.text);
        if (!why) continue;
        if (ALLOWED.some((a) => a.file === file && a.text.test(s.text))) continue;
        found.push(`${file}:${s.line}: ${why}: ${JSON.stringify(s.text.slice(0, 100))}`);
      }
    }
    expect(found, found.join('\n')).toEqual([]);
  });

  it('the check itself sees flags, variables and commands (and not error codes)', () => {
    expect(names('Check --client-id and the secret.')).toBe('flag --client-id');
    expect(names('Set TPX_THINGWORX_APP_KEY.')).toBe('variable TPX_THINGWORX_APP_KEY');
    expect(names('Run "tpx thingworx check".')).toBe('command "tpx thingworx"');
    expect(names('TPX_TWX_UNAUTHORIZED: the key was refused')).toBeUndefined();
    expect(names('TPX_THINGPARK_API')).toBeUndefined();
    expect(names('tpx does not send the key to an unverified server')).toBeUndefined();
    expect(names('a-b--c')).toBeUndefined();
  });
});
