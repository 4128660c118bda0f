/**
 * Runs tpx in this process, through the same runCli/App as bin/tpx.js, with output captured: as faithful as a
 * subprocess for everything but the launcher, and ten times faster. Prefer it to test/helpers/cli.ts; keep
 * subprocesses for what needs a real process (signals from outside, a pseudo-terminal, exit on a closed pipe).
 */
import { Readable } from 'node:stream';
import { App } from '../../src/cli/app.js';
import { BufferWriter } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import type { RunResult } from './cli.js';

export interface InProcessOptions {
  /** The whole environment the command sees (nothing comes from process.env). Default: NO_COLOR=1 only. */
  env?: NodeJS.ProcessEnv;
  /** Text on stdin (stdin is then not a terminal). */
  input?: string;
  /** stdout is a terminal of this many columns (and `rows` lines); default: a pipe. */
  columns?: number;
  rows?: number;
}

type Handler = () => void;

/** A command running in this process: read its output as it comes, interrupt it like Ctrl-C. */
export class InProcess {
  private readonly out: BufferWriter;
  private readonly err: BufferWriter;
  readonly exited: Promise<RunResult>;
  private handlers = new Map<NodeJS.Signals, Set<Handler>>();
  private waiters: (() => void)[] = [];
  exitCode: number | undefined;

  constructor(args: string[], o: InProcessOptions = {}) {
    const tty = o.columns !== undefined;
    const notify = () => {
      for (const w of this.waiters.splice(0)) w();
    };
    const writer = (isTTY: boolean, columns: number) => {
      const w = new BufferWriter(isTTY, columns) as BufferWriter & { rows?: number };
      if (o.rows) w.rows = o.rows;
      const write = w.write.bind(w);
      w.write = (chunk: string) => {
        write(chunk);
        notify();
        return true;
      };
      return w;
    };
    this.out = writer(tty, o.columns ?? 80);
    this.err = writer(false, 80);
    const app = new App({
      stdout: this.out,
      stderr: this.err,
      env: o.env ?? { NO_COLOR: '1' },
      stdinIsTTY: false,
      stdin: Readable.from(o.input ? [Buffer.from(o.input)] : []),
      process: {
        on: (s, fn) => {
          if (!this.handlers.has(s)) this.handlers.set(s, new Set());
          this.handlers.get(s)!.add(fn);
        },
        off: (s, fn) => {
          this.handlers.get(s)?.delete(fn);
        },
        exit: (code) => {
          this.exitCode = code;
        },
      },
    });
    this.exited = runCli(args, app).then(
      (code) => {
        this.exitCode = code;
        notify();
        return { code, signal: null, stdout: this.stdout, stderr: this.stderr };
      },
      (err: unknown) => {
        notify();
        throw err;
      },
    );
  }

  /** What the command printed on stdout so far. */
  get stdout(): string {
    return this.out.text;
  }

  /** What it printed on stderr so far. */
  get stderr(): string {
    return this.err.text;
  }

  /** Resolves when the output (stdout, or stderr) matches; rejects when the command ends first or at the timeout. */
  async waitFor(
    pattern: RegExp,
    o: { stream?: 'stdout' | 'stderr'; timeoutMs?: number } = {},
  ): Promise<RegExpMatchArray> {
    const read = () => (o.stream === 'stderr' ? this.stderr : this.stdout);
    const deadline = Date.now() + (o.timeoutMs ?? 30_000);
    for (;;) {
      const m = read().match(pattern);
      if (m) return m;
      if (this.exitCode !== undefined)
        throw new Error(
          `the command ended (${this.exitCode}) before ${pattern}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
        );
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for ${pattern}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves on the next output on either stream, or after `ms`. */
  nextOutput(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Resolves with the first JSON line on stdout. */
  async firstJsonLine<T = Record<string, unknown>>(timeoutMs?: number): Promise<T> {
    const m = await this.waitFor(/^(\{.*\})\s*$/m, { timeoutMs });
    return JSON.parse(m[1]!) as T;
  }

  /**
   * As TpxProcess.kill: the command's handlers of SIGINT or SIGTERM run; any other signal (in-process there is no
   * SIGKILL) stops it as Ctrl-C does.
   */
  kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<RunResult> {
    const handled = signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
    for (const h of [...(this.handlers.get(handled) ?? [])]) h();
    return this.exited;
  }

  /** What Ctrl-C does: the command's SIGINT handlers run. */
  interrupt(): Promise<RunResult> {
    return this.kill('SIGINT');
  }
}

/** Runs a command to its end and returns its exit code and output. */
export function runInProcess(args: string[], o: InProcessOptions = {}): Promise<RunResult> {
  return new InProcess(args, o).exited;
}
