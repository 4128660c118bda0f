/**
 * `tpx alwayson decode|encode`: AlwaysOn frames <-> readable tree / JSON (research/alwayson.md §2–§9).
 * The codec is loaded inside the actions so `tpx --help` stays fast.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { mask } from '../../config/secrets.js';
import { ExitCode, TpxError, UsageError } from '../../errors.js';
import { isHexDigits } from '../../util/hex.js';
import type { App } from '../app.js';
import type { CommandContext } from '../context.js';

export interface DecodeOptions {
  file?: string;
  maxMessageSize?: string;
}

export interface EncodeOptions {
  chunkSize?: string;
}

/** Hex with spaces, colons, `|` separators or none; an optional 0x prefix. */
export function parseHexLine(line: string, lineNo: number): Buffer {
  let s = line.trim();
  if (s.startsWith('0x') || s.startsWith('0X')) s = s.slice(2);
  let digits = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (isHexDigits(c, 1)) digits += c;
    else if (!/[\s:|]/.test(c)) {
      throw new UsageError(
        `Invalid hex on line ${lineNo} at character ${i + 1}: expected a hex digit, space or colon, found ${JSON.stringify(c)}.`,
        'Give the frame as hex, e.g. "01 14 00 00 00 01 …" or 01:14:00…, or use --file for raw bytes.',
      );
    }
  }
  if (digits.length % 2 !== 0) {
    throw new UsageError(
      `Invalid hex on line ${lineNo}: expected an even number of hex digits, found ${digits.length}.`,
      'Each byte is two hex digits; check that the frame was copied completely.',
    );
  }
  return Buffer.from(digits, 'hex');
}

function positiveInt(v: string | undefined, flag: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new UsageError(`${flag} must be an integer from 1 to ${max}, got "${v}".`, `Example: ${flag} 8192`);
  }
  return n;
}

/**
 * The codec's errors are data about bytes (the bridge meets them at run time too); here the bytes or the message
 * are the user's input: exit 2, with what to check.
 */
function inputError(err: unknown, what: 'frame' | 'message', line?: number): unknown {
  if (!(err instanceof TpxError) || err.exitCode === ExitCode.USAGE) return err;
  if (err.code !== 'TPX_PROTOCOL' && err.code !== 'TPX_ENCODE') return err;
  return new TpxError(err.code, line === undefined ? err.message : `Line ${line}: ${err.message}`, {
    fix: { id: 'alwayson-input', what },
    exitCode: ExitCode.USAGE,
    cause: err,
    details: { ...(line === undefined ? {} : { line }), ...err.details },
  });
}

export async function runAlwaysonDecode(
  ctx: CommandContext,
  opts: DecodeOptions,
  hexArgs: string[],
  stdin?: () => Promise<string>,
): Promise<void> {
  try {
    await decode(ctx, opts, hexArgs, stdin);
  } catch (err) {
    throw inputError(err, 'frame');
  }
}

async function decode(
  ctx: CommandContext,
  opts: DecodeOptions,
  hexArgs: string[],
  stdin: (() => Promise<string>) | undefined,
): Promise<void> {
  const codec = await import('../../alwayson/codec/index.js');
  const maxMessageSize = positiveInt(opts.maxMessageSize, '--max-message-size');
  const frames: { bytes: Buffer; line: number }[] = [];
  if (opts.file !== undefined) {
    if (hexArgs.length > 0) throw new UsageError('Give either hex or --file, not both.', 'Drop one of them.');
    let bytes: Buffer;
    try {
      bytes = readFileSync(opts.file);
    } catch (err) {
      throw new UsageError(`Cannot read ${opts.file}: ${(err as Error).message}`, 'Check the path of --file.');
    }
    frames.push({ bytes, line: 1 });
  } else {
    let text: string;
    if (hexArgs.length > 0) text = hexArgs.join(' ');
    else if (ctx.io.stdinIsTTY) {
      throw new UsageError(
        'No frame given.',
        'Pass the hex as an argument, a raw file with --file, or pipe hex frames on stdin, one per line.',
      );
    } else text = await (stdin ?? (() => ctx.io.readStdin()))();
    text.split(/\r?\n/).forEach((l, i) => {
      if (l.trim() === '' || l.trim().startsWith('#')) return;
      frames.push({ bytes: parseHexLine(l, i + 1), line: i + 1 });
    });
    if (frames.length === 0) throw new UsageError('No frame in the input.', 'Give hex bytes, one frame per line.');
  }
  // Frames of one multipart message are reassembled; chunks of an incomplete set are shown one by one.
  const reassembler = new codec.Reassembler({ maxMessageSize });
  const out: (
    | { message: import('../../alwayson/codec/index.js').DecodedMessage }
    | { chunkOf: number; index: number }
  )[] = [];
  const keyOf = (b: Buffer) => b[1]! * 0x100000000 + b.readUInt32BE(2);
  for (const [index, f] of frames.entries()) {
    try {
      const m = reassembler.push(f.bytes);
      if (m === null) out.push({ chunkOf: keyOf(f.bytes), index });
      else {
        if (m.header.multipart) {
          const key = keyOf(f.bytes);
          for (let i = out.length - 1; i >= 0; i--) {
            const o = out[i]!;
            if ('chunkOf' in o && o.chunkOf === key) out.splice(i, 1);
          }
        }
        out.push({ message: m });
      }
    } catch (err) {
      throw inputError(err, 'frame', err instanceof codec.ProtocolError && frames.length > 1 ? f.line : undefined);
    }
  }
  const messages = out.map((o) =>
    'message' in o ? o.message : codec.decodeMessage(frames[o.index]!.bytes, { maxMessageSize }),
  );
  if (ctx.io.json) {
    for (const m of messages) ctx.io.printJson(codec.toJsonDocument(m));
    return;
  }
  ctx.io.out(messages.map((m) => codec.formatMessage(maskClaims(m))).join('\n\n'));
}

/** AUTH claims (app keys) are masked in the human tree; --json keeps them so that `encode` gives the bytes back. */
function maskClaims<T extends { body: { kind: string } }>(m: T): T {
  const b = m.body as { kind: string; claims?: Record<string, string> };
  if (b.kind !== 'auth' || !b.claims) return m;
  const claims = Object.fromEntries(Object.entries(b.claims).map(([k, v]) => [k, mask(v)]));
  return { ...m, body: { ...b, claims } };
}

/** One JSON document, or NDJSON (one document per line, as `decode --json` prints several messages). */
function parseJsonDocuments(text: string): unknown[] {
  try {
    return [JSON.parse(text)];
  } catch (whole) {
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length < 2) {
      throw new UsageError(
        `Invalid JSON: ${(whole as Error).message}.`,
        'Give the message as printed by `tpx alwayson decode --json`.',
      );
    }
    return lines.map((l, i) => {
      try {
        return JSON.parse(l) as unknown;
      } catch (err) {
        throw new UsageError(
          `Invalid JSON on line ${i + 1}: ${(err as Error).message}.`,
          'Give one JSON document, or one per line as printed by `tpx alwayson decode --json`.',
        );
      }
    });
  }
}

export async function runAlwaysonEncode(
  ctx: CommandContext,
  opts: EncodeOptions,
  json: string | undefined,
  stdin?: () => Promise<string>,
): Promise<void> {
  const codec = await import('../../alwayson/codec/index.js');
  const chunkSize = positiveInt(opts.chunkSize, '--chunk-size', 0xffff);
  let text = json;
  if (text === undefined) {
    if (ctx.io.stdinIsTTY) {
      throw new UsageError(
        'No message given.',
        'Pass the JSON as an argument or pipe it on stdin (e.g. from `decode --json`).',
      );
    }
    text = await (stdin ?? (() => ctx.io.readStdin()))();
  }
  if (text.trim() === '') throw new UsageError('No message given (empty input).', 'Give the message as JSON.');
  const frames: string[] = [];
  try {
    for (const doc of parseJsonDocuments(text)) {
      const msg = codec.messageFromJson(doc);
      for (const f of codec.encodeFrames(msg, { chunkSize })) frames.push(f.toString('hex'));
    }
  } catch (err) {
    throw inputError(err, 'message');
  }
  if (ctx.io.json) {
    ctx.io.printJson({ frames });
    return;
  }
  ctx.io.out(frames.join('\n'));
}

export function register(program: Command, app: App): void {
  const cmd = program.command('alwayson').description('decode and encode ThingWorx AlwaysOn binary frames');
  cmd
    .command('decode [hex...]')
    .description(
      'decode frames (hex argument, --file raw bytes, or hex lines on stdin) into a tree, or JSON with --json (one document per message)',
    )
    .option('--file <path>', 'read one frame of raw bytes from a file')
    .option('--max-message-size <bytes>', 'largest accepted message (default 1048576)')
    .action((...a: unknown[]) => {
      const c = a[a.length - 1] as Command;
      const hexArgs = [...c.args];
      return app.action<DecodeOptions>(async (ctx, o) => runAlwaysonDecode(ctx, o, hexArgs))(...a);
    });
  cmd
    .command('encode [json]')
    .description('encode a message in the JSON of `decode --json` (argument or stdin) and print the frame(s) as hex')
    .option('--chunk-size <bytes>', 'split into multipart frames of this size, one per line, as the C SDK does')
    .action(app.action<EncodeOptions>(async (ctx, o, [json]) => runAlwaysonEncode(ctx, o, json)));
}
