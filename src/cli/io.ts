/**
 * The one output object every command prints through (gh's IOStreams).
 * stdout carries data (human text, tables or exactly one JSON document); stderr carries messages, progress and logs.
 * Tests build one with createTestIO() and read what a command printed.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import { redact } from '../config/secrets.js';
import { type Cell, renderKeyValues, renderTable, type TableStyle } from './table.js';

export interface Writer {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Prompts, injectable so that tests can answer them. Only called when io.canPrompt() is true. */
export interface Prompter {
  input(message: string, options?: { default?: string; validate?: (v: string) => string | true }): Promise<string>;
  password(message: string, options?: { validate?: (v: string) => string | true }): Promise<string>;
  confirm(message: string, options?: { default?: boolean }): Promise<boolean>;
  select<T extends string>(message: string, choices: { name: string; value: T }[]): Promise<T>;
}

export interface IOOptions {
  stdout: Writer;
  stderr: Writer;
  stdinIsTTY: boolean;
  /** Where commands read piped input (default process.stdin); tests give a stream of their own. */
  stdin?: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  yes?: boolean;
  color?: boolean;
  prompter?: Prompter;
}

export function colorLevel(env: NodeJS.ProcessEnv, stdout: Writer, colorFlag: boolean | undefined): 0 | 1 | 2 | 3 {
  if (colorFlag === false) return 0;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  if (env.FORCE_COLOR !== undefined) {
    const n = Number(env.FORCE_COLOR);
    if (env.FORCE_COLOR === '' || env.FORCE_COLOR === 'true') return 1;
    if (env.FORCE_COLOR === 'false' || n === 0) return 0;
    return Math.min(3, Math.max(1, n)) as 1 | 2 | 3;
  }
  if (!stdout.isTTY || env.TERM === 'dumb') return 0;
  return 1;
}

export class IO {
  readonly stdout: Writer;
  readonly stderr: Writer;
  readonly env: NodeJS.ProcessEnv;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly yes: boolean;
  readonly stdinIsTTY: boolean;
  private readonly stdinStream: NodeJS.ReadableStream | undefined;
  readonly color: ChalkInstance;
  readonly colorEnabled: boolean;
  private readonly secrets = new Set<string>();
  private prompter: Prompter | undefined;
  private statusShown = false;
  /** An NDJSON event line was printed: this run is a stream, and its error is an event line too. */
  streamed = false;

  constructor(o: IOOptions) {
    this.stdout = o.stdout;
    this.stderr = o.stderr;
    this.env = o.env;
    this.json = o.json ?? false;
    this.quiet = o.quiet ?? false;
    this.verbose = o.verbose ?? false;
    this.yes = o.yes ?? false;
    this.stdinIsTTY = o.stdinIsTTY;
    this.stdinStream = o.stdin;
    const level = colorLevel(o.env, o.stdout, o.color);
    this.color = new Chalk({ level });
    this.colorEnabled = level > 0;
    this.prompter = o.prompter;
  }

  /** The input stream (piped text for `explain`, `alwayson decode|encode`). */
  get stdin(): NodeJS.ReadableStream {
    return this.stdinStream ?? process.stdin;
  }

  /** All of stdin as text, at most `limit` bytes (more throws RangeError). */
  async readStdin(limit = 16 * 1024 * 1024): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of this.stdin) {
      const b = typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
      size += b.length;
      if (size > limit) throw new RangeError(`stdin is larger than ${limit} bytes`);
      chunks.push(b);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  get isStdoutTTY(): boolean {
    return Boolean(this.stdout.isTTY);
  }

  get isStderrTTY(): boolean {
    return Boolean(this.stderr.isTTY);
  }

  /** Registers secrets that must never appear in full in anything this IO prints. */
  addSecrets(...values: (string | undefined)[]): void {
    for (const v of values) if (v && v.length >= 4) this.secrets.add(v);
  }

  private clean(text: string): string {
    return this.secrets.size ? redact(text, this.secrets) : text;
  }

  private writeOut(text: string): void {
    this.clearStatus();
    this.stdout.write(this.clean(text));
  }

  private writeErr(text: string): void {
    this.clearStatus();
    this.stderr.write(this.clean(text));
  }

  /** Human output (data) on stdout. Ignored in --json mode, where only printJson writes to stdout. */
  out(text = ''): void {
    if (this.json) return;
    this.writeOut(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** The one JSON document of a --json run (or one NDJSON line for streaming commands). */
  printJson(value: unknown, pretty = false): void {
    this.writeOut(`${JSON.stringify(value, null, pretty ? 2 : undefined)}\n`);
  }

  /**
   * One NDJSON event line of a stream (sandbox, bridge, thing watch): `time` (ISO 8601 with ms) and `event` (a
   * stable name) first, then the event's fields. The event schema is documented in docs/events.md.
   */
  event(name: string, fields: object = {}, now: Date = new Date()): void {
    this.streamed = true;
    this.printJson(
      Object.assign({ time: now.toISOString(), event: name }, fields, { time: now.toISOString(), event: name }),
    );
  }

  /** A status message on stderr (suppressed by --quiet). */
  info(text: string): void {
    if (this.quiet) return;
    this.writeErr(`${text}\n`);
  }

  success(text: string): void {
    this.info(`${this.color.green('✓')} ${text}`);
  }

  warn(text: string): void {
    this.writeErr(`${this.color.yellow('warning:')} ${text}\n`);
  }

  /** Details shown only with --verbose. */
  debug(text: string): void {
    if (!this.verbose) return;
    this.writeErr(`${this.color.dim(text)}\n`);
  }

  /** Error output: one line what failed, one line what to do. */
  error(message: string, fix?: string): void {
    this.writeErr(`${this.color.red('error:')} ${message}\n`);
    if (fix) this.writeErr(`${this.color.dim('fix:')} ${fix}\n`);
  }

  /** The style of tables on stdout: aligned and fitted on a terminal, tab-separated when piped. */
  get tableStyle(): TableStyle {
    return { tty: this.isStdoutTTY, width: this.stdout.columns || 80, head: (t) => this.color.bold(t) };
  }

  /** Rows under a header (src/cli/table.ts): aligned columns sized to the terminal, or tab-separated when piped. */
  table(head: string[], rows: Cell[][]): string {
    return renderTable(head, rows, this.tableStyle);
  }

  /** One object as `key: value` lines (tab-separated when piped). */
  keyValues(rows: [string, Cell][]): string {
    return renderKeyValues(rows, this.tableStyle);
  }

  /** A live status line on a TTY stderr (progress); nothing otherwise. */
  status(text: string): void {
    if (this.quiet || this.json || !this.isStderrTTY) return;
    // A terminal of unknown size (a pty opened without one, as `script` or `docker -t` do) reports 0 columns.
    const width = this.stderr.columns || 120;
    this.stderr.write(`\r\x1b[2K${this.clean(text).slice(0, Math.max(10, width - 1))}`);
    this.statusShown = true;
  }

  clearStatus(): void {
    if (!this.statusShown) return;
    this.statusShown = false;
    this.stderr.write('\r\x1b[2K');
  }

  /** Prompts only when stdin is a TTY and neither --json nor --yes was given. */
  canPrompt(): boolean {
    return this.stdinIsTTY && !this.json && !this.yes;
  }

  get prompt(): Prompter {
    if (!this.prompter) this.prompter = inquirerPrompter();
    return this.prompter;
  }
}

/** The real prompter (@inquirer/prompts, loaded only when a prompt is shown). Prompts go to stderr. */
export function inquirerPrompter(): Prompter {
  const load = () => import('@inquirer/prompts');
  const ctx = { output: process.stderr };
  return {
    async input(message, options) {
      const p = await load();
      return p.input({ message, default: options?.default, validate: options?.validate }, ctx);
    },
    async password(message, options) {
      const p = await load();
      return p.password({ message, mask: '*', validate: options?.validate }, ctx);
    },
    async confirm(message, options) {
      const p = await load();
      return p.confirm({ message, default: options?.default ?? false }, ctx);
    },
    async select(message, choices) {
      const p = await load();
      return p.select({ message, choices }, ctx);
    },
  };
}

/** A buffer writer for tests. */
export class BufferWriter implements Writer {
  text = '';
  constructor(
    public isTTY = false,
    public columns = 120,
  ) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

export interface TestIO {
  io: IO;
  stdout: BufferWriter;
  stderr: BufferWriter;
}

/** An IO whose output tests can read; answers prompts from `answers` in order. */
export function createTestIO(
  options: Partial<Omit<IOOptions, 'stdout' | 'stderr'>> & { answers?: (string | boolean)[]; tty?: boolean } = {},
): TestIO {
  const stdout = new BufferWriter(options.tty ?? false);
  const stderr = new BufferWriter(options.tty ?? false);
  const answers = [...(options.answers ?? [])];
  const next = (message: string): string | boolean => {
    if (answers.length === 0) throw new Error(`unexpected prompt: ${message}`);
    return answers.shift() as string | boolean;
  };
  const prompter: Prompter = options.prompter ?? {
    input: async (m) => String(next(m)),
    password: async (m) => String(next(m)),
    confirm: async (m) => Boolean(next(m)),
    select: async <T extends string>(m: string) => String(next(m)) as T,
  };
  const io = new IO({
    stdout,
    stderr,
    stdinIsTTY: options.stdinIsTTY ?? options.tty ?? false,
    env: options.env ?? {},
    json: options.json,
    quiet: options.quiet,
    verbose: options.verbose,
    yes: options.yes,
    color: options.color,
    prompter,
  });
  return { io, stdout, stderr };
}
