import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTpx } from '../helpers/cli.js';

function bashComplete(script: string, line: string[]): string[] {
  const file = join(tmpdir(), `tpx-completion-${process.pid}.bash`);
  writeFileSync(file, script);
  const words = line.map((w) => `'${w}'`).join(' ');
  const out = execFileSync(
    'bash',
    [
      '-c',
      `source ${file}; COMP_WORDS=(${words}); COMP_CWORD=${line.length - 1}; _tpx_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8' },
  );
  return out.split('\n').filter(Boolean);
}

describe('tpx completion', () => {
  it('bash: completes top-level commands and subcommands from the command tree', async () => {
    const r = await runTpx(['completion', 'bash']);
    expect(r.code).toBe(0);
    expect(bashComplete(r.stdout, ['tpx', 'pro'])).toEqual(['profile']);
    expect(bashComplete(r.stdout, ['tpx', 'profile', ''])).toEqual(expect.arrayContaining(['list', 'set', 'use']));
    expect(bashComplete(r.stdout, ['tpx', 'profile', 'set', '--'])).toEqual(
      expect.arrayContaining(['--json', '--profile']),
    );
  });

  it('zsh and fish scripts name every top-level command', async () => {
    const help = await runTpx(['--help']);
    const commands = [...help.stdout.split('Commands:')[1]!.matchAll(/^ {2}([a-z-]+)/gm)]
      .map((m) => m[1]!)
      .filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThan(2);
    const zsh = await runTpx(['completion', 'zsh']);
    expect(zsh.stdout).toMatch(/^#compdef tpx/);
    const fish = await runTpx(['completion', 'fish']);
    for (const c of commands) {
      expect(zsh.stdout).toContain(`'${c}:`);
      expect(fish.stdout).toContain(`-a '${c}'`);
    }
  });

  it('an unknown shell is a usage error', async () => {
    const r = await runTpx(['completion', 'tcsh']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bash, zsh, fish');
  });
});
