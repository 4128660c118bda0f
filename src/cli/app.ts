/**
 * Glue between commander and the run functions: builds the CommandContext from the global options,
 * runs the command, renders errors (one line what failed, one line what to do) and records the exit code.
 */
import type { Command } from 'commander';
import { ExitCode, isTpxError, type TpxError } from '../errors.js';
import { CommandContext, cancelledBy, type GlobalOptions, SIGNAL_EXIT_CODES } from './context.js';
import { describeHttpError } from './http-errors.js';
import { IO, type Prompter, type Writer } from './io.js';
import { durationOption, TIMEOUT_RANGE } from './options.js';
import { say } from './phrases.js';

export interface AppOptions {
  stdout?: Writer;
  stderr?: Writer;
  stdinIsTTY?: boolean;
  stdin?: NodeJS.ReadableStream;
  env?: NodeJS.ProcessEnv;
  prompter?: Prompter;
  /** Process hooks (signals, exit); tests replace them. */
  process?: CommandContext['process'];
}

export class App {
  exitCode: number = ExitCode.OK;
  lastContext: CommandContext | undefined;

  constructor(readonly options: AppOptions = {}) {}

  get env(): NodeJS.ProcessEnv {
    return this.options.env ?? process.env;
  }

  createIO(globals: GlobalOptions): IO {
    return new IO({
      stdout: this.options.stdout ?? process.stdout,
      stderr: this.options.stderr ?? process.stderr,
      stdinIsTTY: this.options.stdinIsTTY ?? Boolean(process.stdin.isTTY),
      stdin: this.options.stdin,
      env: this.env,
      json: globals.json,
      quiet: globals.quiet,
      verbose: globals.verbose,
      yes: globals.yes,
      color: globals.color,
      prompter: this.options.prompter,
    });
  }

  /**
   * Wraps a run function as a commander action. The run function gets the context, the command's own options
   * merged with the global ones, and the positional arguments. It may return an exit code.
   */
  action<O extends object>(
    run: (ctx: CommandContext, opts: O & GlobalOptions, args: string[]) => Promise<number | undefined | void>,
  ): (...a: unknown[]) => Promise<void> {
    return async (...a: unknown[]) => {
      const cmd = a[a.length - 1] as Command;
      const opts = cmd.optsWithGlobals() as O & GlobalOptions;
      const args = cmd.args.slice(0, cmd.registeredArguments.length);
      const io = this.createIO(opts);
      const ctx = new CommandContext(io, this.env, opts, this.options.process);
      this.lastContext = ctx;
      // SIGINT/SIGTERM before the command takes them (ctx.shutdownSignal) cancel it: said, then exit 130/143.
      const interrupt = ctx.cancelOnSignal();
      try {
        // A bad --timeout is a usage error before anything is sent (env/profile values are read when used).
        durationOption('--timeout', (opts as GlobalOptions).timeout, TIMEOUT_RANGE);
        const running = run(ctx, opts, args);
        running.catch(() => undefined); // after a cancel, its end is of no interest
        const code = await Promise.race([running, interrupt.cancelled]);
        this.exitCode = typeof code === 'number' ? code : ExitCode.OK;
      } catch (err) {
        this.exitCode = renderError(io, err);
        // The work in flight (an HTTP call that may never end) must not keep the process alive.
        if (interrupt.fired()) ctx.process.exit(this.exitCode);
      } finally {
        interrupt.dispose();
      }
    };
  }
}

/**
 * The exit code of an error: the one it was made with (UsageError 2, CheckFailedError 3), else 2 for the code
 * TPX_USAGE or when its data names a setting and the value got for it (the user gave a bad value), else 1.
 */
export function exitCodeOf(err: TpxError): number {
  if (err.exitCode !== ExitCode.FAILURE) return err.exitCode;
  if (err.code === 'TPX_USAGE') return ExitCode.USAGE;
  const d = err.details;
  if (err.code === 'TPX_CANCELLED' && typeof d?.signal === 'string' && d.signal in SIGNAL_EXIT_CODES)
    return SIGNAL_EXIT_CODES[d.signal as keyof typeof SIGNAL_EXIT_CODES];
  return d && typeof d.setting === 'string' && 'got' in d ? ExitCode.USAGE : ExitCode.FAILURE;
}

/** The `error` member of a --json document: code, message, fix (worded), details. */
function errorJson(err: TpxError): Record<string, unknown> {
  const http = describeHttpError(err);
  const fix = http?.fix ?? say(err.fix);
  return { ...err.toJSON(), ...http, ...(fix ? { fix } : {}) };
}

/**
 * A command that failed after its result was made (uplinks refused, no downlink status in time): with --json the
 * one document is the result with the error in it (never a second document); the error line goes to stderr.
 * Returns the exit code. Without --json, the caller has printed the result: this throws the error.
 */
export function failWithResult(io: IO, result: Record<string, unknown>, err: TpxError): number {
  if (!io.json) throw err;
  io.clearStatus();
  const error = errorJson(err);
  io.printJson({ ...result, error });
  io.error(String(error.message), typeof error.fix === 'string' ? error.fix : undefined);
  return exitCodeOf(err);
}

/** Prints an error the way users expect and returns the exit code. */
export function renderError(io: IO, failure: unknown): number {
  io.clearStatus();
  // Ctrl-C at a prompt (@inquirer/prompts) is the user cancelling, as SIGINT is: the same words, the same 130.
  const err =
    failure instanceof Error && failure.name === 'ExitPromptError' ? cancelledBy('SIGINT') : (failure as unknown);
  if (isTpxError(err)) {
    const error = errorJson(err);
    // A stream's last line is an event line like the others (time, event), not a bare document.
    if (io.json && io.streamed) io.event('failed', { error });
    else if (io.json) io.printJson({ error });
    io.error(String(error.message), typeof error.fix === 'string' ? error.fix : undefined);
    if (io.verbose && err.stack) io.debug(err.stack);
    return exitCodeOf(err);
  }
  const e = err instanceof Error ? err : new Error(String(err));
  if (io.json) io.printJson({ error: { code: 'TPX_INTERNAL', message: e.message } });
  io.error(e.message, io.verbose ? undefined : 'Run the command again with --verbose for details.');
  if (io.verbose && e.stack) io.debug(e.stack);
  return ExitCode.FAILURE;
}
