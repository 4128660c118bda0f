/**
 * `tpx completion bash|zsh|fish`, tested by running the shells on the generated scripts: commands, flags, what
 * comes after a flag's value (`tpx --profile sandbox thing l<TAB>`), and the values of flags and arguments
 * (profile names read from the config through `tpx profile list`).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TPX_BIN, tempConfigHome } from '../helpers/cli.js';
import { runInProcess } from '../helpers/run.js';

const home = tempConfigHome();
let env: NodeJS.ProcessEnv;
const scripts: Record<string, string> = {};

function has(shell: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${shell}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  // `tpx` on the PATH (the profile names come from `tpx profile list`), and two profiles in the config.
  const bin = join(home.dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'tpx'), `#!/bin/sh\nexec "${process.execPath}" "${TPX_BIN}" "$@"\n`);
  chmodSync(join(bin, 'tpx'), 0o755);
  mkdirSync(join(home.dir, 'tpx'));
  writeFileSync(
    join(home.dir, 'tpx', 'config.json'),
    JSON.stringify({ current: 'lab', profiles: { sandbox: { template: 't' }, lab: {} } }),
  );
  env = { ...home.env, PATH: `${bin}:${process.env.PATH}` };
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = await runInProcess(['completion', shell], { env });
    expect(r.code, r.stderr).toBe(0);
    scripts[shell] = join(home.dir, `tpx.${shell}`);
    writeFileSync(scripts[shell]!, r.stdout);
  }
});
afterAll(() => home.cleanup());

/** The words bash offers for a command line (the last word is being completed). */
function bash(line: string[]): string[] {
  const words = line.map((w) => `'${w}'`).join(' ');
  const out = execFileSync(
    'bash',
    [
      '-c',
      `source ${scripts.bash}; COMP_WORDS=(${words}); COMP_CWORD=${line.length - 1}; _tpx_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8', env },
  );
  return out.split('\n').filter(Boolean).sort();
}

describe('bash completion', () => {
  it('completes commands and subcommands from the command tree', () => {
    expect(bash(['tpx', 'pro'])).toEqual(['profile']);
    expect(bash(['tpx', 'profile', ''])).toEqual(expect.arrayContaining(['list', 'set', 'use']));
    expect(bash(['tpx', 'profile', 'set', '--'])).toEqual(expect.arrayContaining(['--json', '--profile']));
  });

  it('after a flag and its value, goes on with the command (the value "sandbox" is not the sandbox command)', () => {
    expect(bash(['tpx', '--profile', 'sandbox', 'thing', 'l'])).toEqual(['list']);
    expect(bash(['tpx', '--profile', 'sandbox', ''])).toEqual(expect.arrayContaining(['thing', 'bridge', 'sandbox']));
    expect(bash(['tpx', 'downlink', 'push', '--via', 'thingpark', '--w'])).toEqual(['--wait']);
  });

  it('completes the values of flags and arguments: profile names from the config, --via, --bind-policy, shells', () => {
    expect(bash(['tpx', '--profile', ''])).toEqual(['lab', 'sandbox']);
    expect(bash(['tpx', 'thing', 'list', '--profile', 's'])).toEqual(['sandbox']);
    expect(bash(['tpx', 'profile', 'use', ''])).toEqual(expect.arrayContaining(['lab', 'sandbox']));
    expect(bash(['tpx', 'downlink', 'push', '--via', ''])).toEqual(['thingpark', 'thingworx']);
    expect(bash(['tpx', 'thingworx', 'setup', '--bind-policy', ''])).toEqual(['first-in-wins', 'last-in-wins']);
    expect(bash(['tpx', 'completion', ''])).toEqual(expect.arrayContaining(['bash', 'fish', 'zsh']));
    expect(bash(['tpx', 'completion', 'z'])).toEqual(['zsh']);
    // a flag without listed values completes nothing rather than commands
    expect(bash(['tpx', 'thing', 'list', '--limit', ''])).toEqual([]);
  });
});

describe.skipIf(!has('zsh'))('zsh completion (skipped when zsh is not installed: apt-get install zsh)', () => {
  /** What the completion function offers, with compadd and _describe replaced by functions that print. */
  function zsh(line: string[]): string[] {
    const words = line.map((w) => `'${w}'`).join(' ');
    const program = [
      'compdef() { :; }',
      `compadd() { [[ "$1" == -a ]] && print -l -- "\${(@P)2}"; }`,
      `_describe() { local -a arr; arr=("\${(@P)2}"); print -l -- "\${arr[@]%%:*}"; }`,
      `source ${scripts.zsh}`,
      `words=(${words}); CURRENT=${line.length}`,
      '_tpx',
    ].join('\n');
    const out = execFileSync('zsh', ['-f', '-c', program], { encoding: 'utf8', env });
    const cur = line.at(-1)!;
    return out
      .split('\n')
      .filter((w) => w !== '' && w.startsWith(cur))
      .sort();
  }

  it('completes commands after a flag value, and flag and argument values', () => {
    expect(zsh(['tpx', '--profile', 'sandbox', 'thing', 'l'])).toEqual(['list']);
    expect(zsh(['tpx', '--profile', ''])).toEqual(['lab', 'sandbox']);
    expect(zsh(['tpx', 'downlink', 'push', '--via', ''])).toEqual(['thingpark', 'thingworx']);
    expect(zsh(['tpx', 'completion', ''])).toEqual(expect.arrayContaining(['bash', 'fish', 'zsh']));
  });
});

describe.skipIf(!has('fish'))('fish completion (skipped when fish is not installed: apt-get install fish)', () => {
  function fish(line: string): string[] {
    const out = execFileSync(
      'fish',
      ['--no-config', '-c', `source ${scripts.fish}; complete -C ${JSON.stringify(line)}`],
      { encoding: 'utf8', env },
    );
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t')[0]!)
      .sort();
  }

  it('completes commands after a flag value, and flag and argument values', () => {
    expect(fish('tpx --profile sandbox thing l')).toEqual(['list']);
    expect(fish('tpx --profile ')).toEqual(['lab', 'sandbox']);
    expect(fish('tpx downlink push --via ')).toEqual(['thingpark', 'thingworx']);
    expect(fish('tpx completion ')).toEqual(expect.arrayContaining(['bash', 'fish', 'zsh']));
    expect(fish('tpx thing ')).toEqual(expect.arrayContaining(['list', 'show', 'watch']));
  });
});

describe('tpx completion', () => {
  it('every top-level command is in each script', async () => {
    const help = await runInProcess(['--help']);
    const commands = [...help.stdout.split('Commands:')[1]!.matchAll(/^ {2}([a-z-]+)/gm)]
      .map((m) => m[1]!)
      .filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThan(2);
    const { readFileSync } = await import('node:fs');
    const zsh = readFileSync(scripts.zsh!, 'utf8');
    const fish = readFileSync(scripts.fish!, 'utf8');
    expect(zsh).toMatch(/^#compdef tpx/);
    for (const c of commands) {
      expect(zsh).toContain(`'${c}:`);
      expect(fish).toContain(`-a '${c}'`);
    }
  });

  it('an unknown shell is a usage error', async () => {
    const r = await runInProcess(['completion', 'tcsh']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bash, zsh, fish');
  });
});
