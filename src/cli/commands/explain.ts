/** `tpx explain "<error text>"` (or the text on stdin): cause and fix of a connector, ThingWorx or tpx error. */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { App } from '../app.js';
import type { CommandContext } from '../context.js';
import { sayFields } from '../phrases.js';

/** Reads all of stdin (when it is not a TTY), up to 1 MiB. */
async function readStdin(ctx: CommandContext): Promise<string> {
  try {
    return await ctx.io.readStdin(1024 * 1024);
  } catch (err) {
    if (err instanceof RangeError)
      throw new UsageError('The text on stdin is larger than 1 MiB.', 'Paste only the error lines.');
    throw err;
  }
}

export async function runExplain(
  ctx: CommandContext,
  words: string[],
  stdinText?: () => Promise<string>,
): Promise<void> {
  let text = words.join(' ');
  if (text.trim() === '' || text === '-') {
    if (ctx.io.stdinIsTTY && !stdinText) {
      throw new UsageError('No error text given.', 'Run: tpx explain "<error text>"  (or pipe the text on stdin).');
    }
    text = await (stdinText ?? (() => readStdin(ctx)))();
  }
  if (text.trim() === '') {
    throw new UsageError('No error text given.', 'Run: tpx explain "<error text>"  (or pipe the text on stdin).');
  }
  const { explainText } = await import('../../thingworx/explain.js');
  const { CODE_EXPLANATIONS, codesIn } = await import('../explain-codes.js');
  const said = explainText(text);
  const explanations = said.explanations.map((e) => sayFields(e, 'fix'));
  // tpx's own TPX_* codes named in the text, or of its own messages in it, each explained once (unless a pasted
  // JSON error already was).
  for (const code of codesIn(text)) {
    const id = code.toLowerCase();
    if (explanations.some((x) => x.id === id)) continue;
    const c = CODE_EXPLANATIONS[code]!;
    explanations.push({ id, title: `${code}: ${c.title}`, cause: c.cause, fix: c.fix });
  }
  const recognised = explanations.length > 0;
  const result = recognised ? { recognised, explanations } : { ...sayFields(said, 'hint'), explanations };
  if (ctx.io.json) {
    ctx.io.printJson(result);
    return;
  }
  if (!result.recognised) {
    ctx.io.out('Not recognised: tpx does not know this error text.');
    ctx.io.out(`Next: ${result.hint}`);
    return;
  }
  const c = ctx.io.color;
  result.explanations.forEach((e, i) => {
    if (i > 0) ctx.io.out('');
    ctx.io.out(c.bold(e.title));
    ctx.io.out(`${c.dim('cause:')} ${e.cause}`);
    ctx.io.out(`${c.dim('fix:')}   ${e.fix}`);
  });
}

export function register(program: Command, app: App): void {
  program
    .command('explain [text...]')
    .description('explain a connector, ThingWorx or tpx error text (or read it from stdin): cause and fix')
    .action(async (...a: unknown[]) => {
      // app.action passes positional arguments one word each; a variadic argument arrives whole as a[0].
      const words = Array.isArray(a[0]) ? (a[0] as string[]) : [];
      await app.action(async (ctx) => runExplain(ctx, words))(...a);
    });
}
