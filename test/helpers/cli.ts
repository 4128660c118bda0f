/**
 * Runs the built CLI (bin/tpx.js) as a subprocess, the way users do. `npm test` builds first.
 * Waits on output events, never on sleeps.
 */
import { type ChildProcess, type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const TPX_BIN = join(ROOT, 'bin', 'tpx.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs bin/tpx.js on a real pseudo-terminal (util-linux `script`), so it sees a TTY the way a person's shell gives one.
 * `exec`: no shell stays between `script` and tpx. A dash left waiting as the parent re-raises a typed Ctrl-C on itself
 * after tpx exits cleanly, and `script -e` then reports 130 (seen in CI, where the shell is /bin/sh).
 */
export function spawnOnPty(args: string[], env: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams {
  const quoted = [process.execPath, TPX_BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return spawn('script', ['-qfec', `exec ${quoted}`, '/dev/null'], {
    cwd: ROOT,
    env: { ...env, SHELL: '/bin/sh' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** A clean environment: own config dir, no colour, no TPX_* variables from the developer's shell. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('TPX_') || k === 'FORCE_COLOR' || k === 'XDG_CONFIG_HOME') continue;
    env[k] = v;
  }
  env.NO_COLOR = '1';
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** A temporary XDG_CONFIG_HOME; call cleanup() when done. */
export function tempConfigHome(): { dir: string; env: NodeJS.ProcessEnv; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tpx-test-'));
  return { dir, env: cleanEnv({ XDG_CONFIG_HOME: dir }), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function runTpx(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [TPX_BIN, ...args], {
      env: options.env ?? cleanEnv(),
      cwd: options.cwd ?? ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tpx ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A long-running tpx process (emulator, bridge, sandbox) whose output can be awaited. */
export class TpxProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  private waiters: { test: () => boolean; resolve: () => void }[] = [];
  readonly exited: Promise<RunResult>;

  constructor(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    this.child = spawn(process.execPath, [TPX_BIN, ...args], {
      env: options.env ?? cleanEnv(),
      cwd: options.cwd ?? ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.check();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.check();
    });
    this.exited = new Promise((res) => {
      this.child.on('close', (code, signal) => {
        this.check();
        res({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => {
      if (w.test()) {
        w.resolve();
        return false;
      }
      return true;
    });
  }

  /** Resolves when stdout (or stderr with `stream: 'stderr'`) matches; rejects on exit or timeout. */
  waitFor(
    pattern: RegExp,
    options: { stream?: 'stdout' | 'stderr'; timeoutMs?: number } = {},
  ): Promise<RegExpMatchArray> {
    const read = () => (options.stream === 'stderr' ? this.stderr : this.stdout);
    return new Promise((resolvePromise, reject) => {
      const found = () => read().match(pattern);
      const m = found();
      if (m) return resolvePromise(m);
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${pattern}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`)),
        options.timeoutMs ?? 30_000,
      );
      this.exited.then((r) => {
        clearTimeout(timer);
        const again = found();
        if (again) resolvePromise(again);
        else
          reject(
            new Error(`tpx exited (${r.code ?? r.signal}) before ${pattern}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`),
          );
      });
      this.waiters.push({
        test: () => Boolean(found()),
        resolve: () => {
          clearTimeout(timer);
          resolvePromise(found()!);
        },
      });
    });
  }

  /** Resolves with the first JSON line on stdout. */
  async firstJsonLine<T = Record<string, unknown>>(timeoutMs?: number): Promise<T> {
    const m = await this.waitFor(/^(\{.*\})\s*$/m, { timeoutMs });
    return JSON.parse(m[1]!) as T;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<RunResult> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
