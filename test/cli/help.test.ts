/**
 * Help as people who live in gh expect it: every command with an action has EXAMPLES (src/cli/examples.ts) that
 * parse against the program, the cheap ones run; inherited flags shown; 80 columns; nothing cites a repo file.
 */
import type { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { App } from '../../src/cli/app.js';
import { EXAMPLES } from '../../src/cli/examples.js';
import { BufferWriter } from '../../src/cli/io.js';
import { buildProgram, wrapHelp } from '../../src/cli/program.js';
import { tempConfigHome } from '../helpers/cli.js';
import { runInProcess } from '../helpers/run.js';

const home = tempConfigHome();
afterAll(() => home.cleanup());

const isHidden = (c: Command) => (c as unknown as { _hidden?: boolean })._hidden === true;
const hasAction = (c: Command) => Boolean((c as unknown as { _actionHandler?: unknown })._actionHandler);

/** Every visible command that does something, by path ("thing list"), with the command object. */
function actionCommands(root: Command): Map<string, Command> {
  const out = new Map<string, Command>();
  const walk = (c: Command, path: string[]) => {
    for (const s of c.commands) {
      if (isHidden(s) || s.name() === 'help') continue;
      const p = [...path, s.name()];
      if (hasAction(s)) out.set(p.join(' '), s);
      walk(s, p);
    }
  };
  walk(root, []);
  return out;
}

/** Shell words of an example, split into pipeline segments, with `> file` and NAME=value prefixes removed. */
function segments(example: string): string[][] {
  const words = [...example.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
  const out: string[][] = [[]];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '|') out.push([]);
    else if (w === '>' || w === '<') i += 1;
    else out[out.length - 1]!.push(w);
  }
  return out.map((seg) => {
    while (seg.length && /^[A-Z_][A-Z0-9_]*=/.test(seg[0]!)) seg.shift();
    return seg;
  });
}

/** Parses a tpx command line against the real program with every action replaced: which command it reaches. */
async function parse(args: string[]): Promise<{ reached?: string; error?: string }> {
  const err = new BufferWriter();
  const program = buildProgram(new App({ stdout: new BufferWriter(), stderr: err }));
  let reached: string | undefined;
  // Every action replaced, hidden ones too (the hidden `bridge run` counts as the bridge it runs).
  const replace = (c: Command, path: string[]) => {
    for (const sub of c.commands) {
      const p = isHidden(sub) ? path : [...path, sub.name()];
      if (hasAction(sub))
        sub.action(() => {
          reached = p.join(' ');
        });
      replace(sub, p);
    }
  };
  replace(program, []);
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    return { error: `${(e as Error).message} ${err.text}` };
  }
  return { reached };
}

const program = buildProgram(new App());
const commands = actionCommands(program);

describe('EXAMPLES', () => {
  it('every command has examples in src/cli/examples.ts', () => {
    const missing = [...commands.keys()].filter((p) => !EXAMPLES[p]?.some((l) => !l.startsWith('# ')));
    expect(
      missing,
      `commands without EXAMPLES: add them to src/cli/examples.ts, keyed by the command path: ${missing.join(', ')}`,
    ).toEqual([]);
    const stale = Object.keys(EXAMPLES).filter((p) => !commands.has(p));
    expect(stale, `src/cli/examples.ts has examples for commands that do not exist: ${stale.join(', ')}`).toEqual([]);
  });

  const all = Object.entries(EXAMPLES).flatMap(([path, list]) =>
    list.filter((l) => !l.startsWith('# ')).map((l) => [path, l] as const),
  );
  it.each(all)('%s: "%s" parses against the program and reaches its command', async (path, example) => {
    const reached: string[] = [];
    for (const seg of segments(example)) {
      if (seg[0] !== 'tpx') continue;
      const r = await parse(seg.slice(1));
      expect(r.error, `tpx ${seg.slice(1).join(' ')}`).toBeUndefined();
      reached.push(r.reached!);
    }
    expect(reached).toContain(path);
  });

  it('the examples that need no platform run and succeed', async () => {
    const env = home.env;
    const cheap = [
      EXAMPLES['alwayson decode']![0]!,
      EXAMPLES.explain![0]!,
      EXAMPLES['profile set']![0]!,
      EXAMPLES['profile unset']![0]!,
      EXAMPLES['profile use']![0]!,
      EXAMPLES['profile list']![0]!,
      EXAMPLES['profile show']![0]!,
      'tpx thingworx import-template --export xml',
      'tpx completion bash',
    ];
    for (const example of cheap) {
      const [seg] = segments(example);
      const r = await runInProcess(seg!.slice(1), { env });
      expect(r.code, `${example}\n${r.stderr}`).toBe(0);
      expect((r.stdout + r.stderr).length, example).toBeGreaterThan(0);
    }
    // alwayson encode reads what decode --json prints
    const hex = '010a00000002000000000000002a000000010444657631';
    const d = await runInProcess(['alwayson', 'decode', '--json', hex], { env });
    const e = await runInProcess(['alwayson', 'encode'], { env, input: d.stdout });
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout.trim()).toBe('010a00000002000000000000002a000000010444657631');
  });
});

/** The help of every command, as printed. */
async function allHelp(): Promise<[string, string][]> {
  const out: [string, string][] = [['tpx', (await runInProcess(['--help'])).stdout]];
  const walk = (c: Command, path: string[]): string[][] =>
    c.commands
      .filter((s) => s.name() !== 'help')
      .flatMap((s) => [[...path, s.name()], ...walk(s, [...path, s.name()])]);
  for (const p of walk(program, [])) out.push([p.join(' '), (await runInProcess([...p, '--help'])).stdout]);
  return out;
}

describe('help text', () => {
  it('fits 80 columns and cites no file an installed user lacks', async () => {
    for (const [path, text] of await allHelp()) {
      expect(text, path).toMatch(/^Usage: tpx/);
      for (const line of text.split('\n')) expect(line.length, `${path}: ${line}`).toBeLessThanOrEqual(80);
      expect(text, path).not.toMatch(/src\/|research\/|§/);
    }
  });

  it('subcommands show the global flags as inherited flags, with examples last', async () => {
    const r = await runInProcess(['connection', 'delete', '--help']);
    const inherited = r.stdout.slice(r.stdout.indexOf('Inherited flags:'));
    expect(inherited).toMatch(/--json/);
    expect(inherited).toMatch(/-y, --yes/);
    expect(inherited).toMatch(/--profile <name>/);
    expect(r.stdout.indexOf('Examples:')).toBeGreaterThan(r.stdout.indexOf('Inherited flags:'));
    expect(r.stdout).toContain('  $ tpx --profile sandbox connection delete 1101 --yes');
  });

  it('tpx bridge --help shows what people type: its flags, no run subcommand', async () => {
    const r = await runInProcess(['bridge', '--help']);
    expect(r.stdout).toMatch(/^ {2}--listen <host:port>/m);
    expect(r.stdout).toMatch(/^ {2}--spool-dir <dir>/m);
    expect(r.stdout).toMatch(/^ {2}dead-letters/m);
    expect(r.stdout).not.toMatch(/^ {2}run\b/m);
    expect(r.stdout).toContain('$ tpx bridge --listen 0.0.0.0:8443');
    // `tpx bridge run` still reaches the bridge
    expect((await parse(['bridge', 'run', '--listen', '127.0.0.1:0'])).reached).toBe('bridge');
  });

  it('wrapHelp reflows an overlong paragraph, keeps flags and examples whole', () => {
    expect(wrapHelp('one two three four\nfive six\n\nseven', 10)).toBe('one two\nthree four\nfive six\n\nseven');
    expect(wrapHelp('  $ tpx a very long example line', 10)).toBe('  $ tpx a very long example line');
    expect(wrapHelp('aaa bbb ccc ddd\n  --flag x', 12)).toBe('aaa bbb ccc\nddd\n  --flag x');
  });

  it('connection create states the default of --active', async () => {
    const r = await runInProcess(['connection', 'create', '--help']);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('--active <true|false> whether the connection runs (default true)');
  });
});
