/**
 * Every example in README.md runs here, so the README cannot drift from the program.
 *
 * The convention (README.md "About the examples" says it to readers):
 * - Examples are fenced blocks with the info string `console`. A line starting with `$ ` is a command; the lines
 *   after it, up to the next `$ ` line or the end of the block, are its output as shown.
 * - A command is `tpx …`, optionally piped from `echo …` or into another `tpx …` (`a | b`), optionally preceded
 *   by `NAME=value` environment assignments. Words are split like a shell's (single and double quotes).
 * - A trailing `# exit N` says the expected exit code (default 0). A trailing `# until Ctrl-C` marks a command
 *   that runs until stopped: it is started, its shown output awaited, then it gets SIGINT and must exit 0.
 * - Shown output is checked by key lines: every non-blank line other than a lone `…` must match a line of
 *   the real output (stdout and stderr), with runs of spaces compared as one space and `…` standing for any text.
 * - Every example runs in order, in a temporary directory holding a link to examples/, with a temporary config
 *   and state home, against one
 *   `tpx sandbox` started for this file (so `--profile sandbox` works). `tpx sandbox …` examples themselves run
 *   in a home of their own, so that they do not replace the profile the other examples use.
 * - The examples run in this process (test/helpers/run.ts: the same runCli as bin/tpx.js, output captured), with
 *   stdout a terminal of README_COLUMNS columns, as a person sees them; a command piped into another writes to a
 *   pipe. The sandbox they use is a real `tpx sandbox` process, and the CI recipe runs bin/tpx.js through bash.
 * - Other fenced blocks are not examples, except the shell script of "Running the emulators in CI", which runs
 *   with bash and `tpx` on the PATH.
 * - An example that names the local RabbitMQ (`amqp://…127.0.0.1:5672`) runs only when a broker answers there;
 *   otherwise it is skipped, and its title says why.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/config/keys.js';
import { brokerAnswers, NO_BROKER } from './helpers/broker.js';
import { cleanEnv, ROOT, type RunResult, TPX_BIN, TpxProcess } from './helpers/cli.js';
import { InProcess } from './helpers/run.js';

/** The terminal width the README's examples are shown at. */
const README_COLUMNS = 100;

interface Example {
  /** 1-based line of the command in README.md. */
  line: number;
  command: string;
  exit: number;
  untilCtrlC: boolean;
  expected: string[];
}

function parseExamples(markdown: string): Example[] {
  const out: Example[] = [];
  let block: 'none' | 'console' | 'other' = 'none';
  let fence = '';
  let current: Example | undefined;
  markdown.split('\n').forEach((raw, i) => {
    const f = /^\s*(`{3,}|~{3,})(.*)$/.exec(raw);
    if (f && block === 'none') {
      block = f[2]!.trim() === 'console' ? 'console' : 'other';
      fence = f[1]!;
      current = undefined;
      return;
    }
    if (f && f[1] === fence && f[2]!.trim() === '') {
      block = 'none';
      current = undefined;
      return;
    }
    if (block !== 'console') return;
    if (raw.startsWith('$ ')) {
      let command = raw.slice(2).trim();
      let exit = 0;
      let untilCtrlC = false;
      const marker = /\s+#\s*(?:exit (\d+)|(until Ctrl-C))\s*$/.exec(command);
      if (marker) {
        command = command.slice(0, marker.index).trim();
        if (marker[1]) exit = Number(marker[1]);
        if (marker[2]) untilCtrlC = true;
      }
      current = { line: i + 1, command, exit, untilCtrlC, expected: [] };
      out.push(current);
    } else if (current) {
      current.expected.push(raw);
    }
  });
  return out;
}

/** Splits a command line into words like a shell (quotes, backslash escapes), and pipelines on `|`. */
function splitPipeline(command: string): string[][] {
  const segments: string[][] = [[]];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  const push = () => {
    if (word !== undefined) segments[segments.length - 1]!.push(word);
    word = undefined;
  };
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < command.length) word = (word ?? '') + command[++i];
      else word = (word ?? '') + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word = word ?? '';
    } else if (c === '\\' && i + 1 < command.length) {
      word = (word ?? '') + command[++i];
    } else if (c === ' ' || c === '\t') {
      push();
    } else if (c === '|') {
      push();
      segments.push([]);
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote) throw new Error(`unclosed ${quote} in: ${command}`);
  push();
  return segments;
}

function normalise(text: string): string {
  return text
    .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function keyLines(expected: string[]): string[] {
  return expected.map(normalise).filter((l) => l !== '' && l !== '…');
}

function linePattern(line: string): RegExp {
  const parts = line.split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`);
}

/** The shown lines that no line of the real output matches. */
function missingLines(expected: string[], actual: string): string[] {
  const real = actual.split('\n').map(normalise);
  return keyLines(expected).filter((l) => {
    const re = linePattern(l);
    return !real.some((r) => re.test(r));
  });
}

interface Env {
  env: NodeJS.ProcessEnv;
  /** Working directory: a temporary one holding a link to the repository's examples/. */
  cwd: string;
}

async function runPipeline(ex: Example, base: Env): Promise<RunResult> {
  let input = '';
  let last: RunResult | undefined;
  const segments = splitPipeline(ex.command);
  for (const [k, segment] of segments.entries()) {
    const env = { ...base.env };
    const words = [...segment];
    while (words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[0]!)) {
      const w = words.shift()!;
      env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
    }
    const [program, ...args] = words;
    if (program === 'echo') {
      input = `${args.join(' ')}\n`;
      last = { code: 0, signal: null, stdout: input, stderr: '' };
      continue;
    }
    if (program !== 'tpx') throw new Error(`README.md:${ex.line}: only tpx and echo are run (got "${program}")`);
    if (last && last.code !== 0) throw new Error(`README.md:${ex.line}: a command before the last one failed`);
    const piped = k < segments.length - 1;
    last = await new InProcess(args, { env, input, ...(piped ? {} : { columns: README_COLUMNS, rows: 40 }) }).exited;
    input = last.stdout;
  }
  if (!last) throw new Error(`README.md:${ex.line}: empty command`);
  return last;
}

async function runUntilCtrlC(ex: Example, base: Env): Promise<RunResult> {
  const segments = splitPipeline(ex.command);
  const [program, ...args] = segments[0]!;
  if (segments.length !== 1 || program !== 'tpx') throw new Error(`README.md:${ex.line}: one tpx command only`);
  const p = new InProcess(args, { env: base.env, columns: README_COLUMNS, rows: 40 });
  const done = () => missingLines(ex.expected, `${p.stdout}\n${p.stderr}`).length === 0;
  const deadline = Date.now() + 20_000;
  // Each round waits for more output; it ends when the shown lines are all there, when the command ends, or at
  // the deadline (the assertions then say what is missing).
  while (!done() && Date.now() < deadline && p.exitCode === undefined) await p.nextOutput(deadline - Date.now());
  return p.interrupt();
}

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const examples = parseExamples(readme);

/** Examples that use the local RabbitMQ (the fleet's broker) run only when it answers. */
const needsBroker = (ex: Example) => /amqp:\/\/\S*127\.0\.0\.1:5672/.test(ex.command);
const brokerUp = !examples.some(needsBroker) ? false : await brokerAnswers();

/** Runs the CI recipe (the sh block of "Running the emulators in CI") with bash and tpx on the PATH. */
async function runCiRecipe(script: string): Promise<{ code: number | null; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tpx-readme-ci-'));
  try {
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'tpx'), `#!/bin/sh\nexec "${process.execPath}" "${TPX_BIN}" "$@"\n`, {
      mode: 0o755,
    });
    writeFileSync(join(dir, 'ci.sh'), script);
    const env = cleanEnv({ XDG_CONFIG_HOME: dir, PATH: `${join(dir, 'bin')}:${process.env.PATH}` });
    return await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('bash', ['ci.sh'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.on('close', (code) => resolve({ code, out }));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('README.md examples', () => {
  let home: string;
  let base: Env;
  let sandbox: TpxProcess;
  const cwd = process.cwd();
  const ciScript = /```sh\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Running the emulators in CI')))?.[1];
  // The CI recipe runs in processes of its own, in a directory of its own: it runs beside the examples (started
  // once the sandbox is ready) and its test, the last one, awaits it.
  let ciRun: Promise<{ code: number | null; out: string }> | undefined;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'tpx-readme-'));
    mkdirSync(join(home, 'state'));
    mkdirSync(join(home, 'work'));
    symlinkSync(join(ROOT, 'examples'), join(home, 'work', 'examples'));
    base = {
      env: cleanEnv({ XDG_CONFIG_HOME: home, XDG_STATE_HOME: join(home, 'state') }),
      cwd: join(home, 'work'),
    };
    // Examples name files relative to where they run (examples/…, my-spool).
    process.chdir(base.cwd);
    // --bind-check 1s: after an example's second bridge stops, the sandbox's bridge holds its Things again within 1s.
    sandbox = new TpxProcess(
      ['sandbox', '--json', '--devices', '3', '--rate', '6', '--downlink-every', '1s', '--bind-check', '1s'],
      base,
    );
    // Ready, and every device's Thing created and holding an uplink, before the examples look at them.
    await sandbox.waitFor(/"event":"sandbox\.ready"/, { timeoutMs: 30_000 });
    for (const n of [1, 2, 3]) {
      await sandbox.waitFor(new RegExp(`"event":"uplink\\.delivered","devEui":"70B3D57ED000000${n}"`), {
        timeoutMs: 30_000,
      });
    }
    if (ciScript) ciRun = runCiRecipe(ciScript);
  }, 60_000);

  afterAll(async () => {
    process.chdir(cwd);
    await sandbox?.kill('SIGINT');
    await ciRun;
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('checks what it says it checks (parser, words, key lines)', () => {
    const md = [
      '```sh',
      '$ tpx not run',
      '```',
      '```console',
      '$ tpx a "b c" \'d\'   # exit 3',
      'out … line',
      '…',
      '$ X=1 echo hi | tpx explain   # until Ctrl-C',
      '```',
    ].join('\n');
    const ex = parseExamples(md);
    expect(ex.map((e) => [e.line, e.command, e.exit, e.untilCtrlC])).toEqual([
      [5, `tpx a "b c" 'd'`, 3, false],
      [8, 'X=1 echo hi | tpx explain', 0, true],
    ]);
    expect(splitPipeline(ex[0]!.command)).toEqual([['tpx', 'a', 'b c', 'd']]);
    expect(splitPipeline(ex[1]!.command)).toEqual([
      ['X=1', 'echo', 'hi'],
      ['tpx', 'explain'],
    ]);
    expect(keyLines(ex[0]!.expected)).toEqual(['out … line']);
    expect(missingLines(ex[0]!.expected, 'x\nout   some   line\n')).toEqual([]);
    expect(missingLines(ex[0]!.expected, 'out line but more\n')).toEqual(['out … line']);
    expect(missingLines(['a.b (c)'], 'aXb (c)')).toEqual(['a.b (c)']);
  });

  it('lists every setting of src/config/keys.ts in the settings table', () => {
    const table = readme.slice(readme.indexOf('## Settings'), readme.indexOf('## Exit codes'));
    for (const s of SETTINGS) {
      expect(table, s.key).toContain(`| \`${s.env}\` | \`${s.key}\` |`);
    }
  });

  it('has examples, and the newcomer commands first', () => {
    const firstBlocks = [...readme.matchAll(/```sh\n([^`]*)```/g)].slice(0, 2).map((m) => m[1]!.trim());
    expect(firstBlocks).toEqual(['npm ci && node bin/tpx.js sandbox', 'npm ci && npm test']);
    expect(examples.length).toBeGreaterThan(20);
  });

  const rows: [string, Example][] = examples.map((e) => [
    `README.md:${e.line}: $ ${e.command}${needsBroker(e) && !brokerUp ? ` (${NO_BROKER})` : ''}`,
    e,
  ]);
  it.for(rows)('%s', { timeout: 40_000 }, async ([, ex], { skip }) => {
    if (needsBroker(ex) && !brokerUp) skip(NO_BROKER);
    let env = base;
    let own: string | undefined;
    if (/^tpx sandbox\b/.test(ex.command)) {
      own = mkdtempSync(join(tmpdir(), 'tpx-readme-sandbox-'));
      env = { env: cleanEnv({ XDG_CONFIG_HOME: own, XDG_STATE_HOME: own }), cwd: base.cwd };
    }
    try {
      const r = ex.untilCtrlC ? await runUntilCtrlC(ex, env) : await runPipeline(ex, env);
      const all = `${r.stdout}\n${r.stderr}`;
      expect(r.code, `exit code of README.md:${ex.line}\n${all}`).toBe(ex.exit);
      expect(missingLines(ex.expected, all), `output of README.md:${ex.line}:\n${all}`).toEqual([]);
    } finally {
      if (own) rmSync(own, { recursive: true, force: true });
    }
  });

  it('runs the CI recipe (the sh block of "Running the emulators in CI") with tpx on the PATH', async () => {
    expect(ciScript).toContain('tpx emulator thingworx --json');
    const r = await ciRun!;
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/Created Thing Template actilityThingTemplateSF|actilityThingTemplateSF/);
    expect(r.out).toMatch(/\d+ passed, 0 failed/);
    expect(r.out).toContain('"action":"created"');
    expect(r.out).toContain('"action":"unchanged"');
    expect(r.out).toMatch(/\tci-bridge\tactility-thingworx-iot\t/);
  }, 40_000);
});
