/** `tpx completion bash|zsh|fish`: prints a completion script generated from the command tree. */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { App } from '../app.js';
import { completionScript, type Shell } from '../completion.js';

const SHELLS: Shell[] = ['bash', 'zsh', 'fish'];

export function register(program: Command, app: App): void {
  program
    .command('completion <shell>')
    .description('print a shell completion script (bash, zsh or fish)')
    .action(
      app.action(async (ctx, _opts, [shell]) => {
        if (!SHELLS.includes(shell as Shell)) {
          throw new UsageError(`Unknown shell "${shell}".`, `Use one of: ${SHELLS.join(', ')}.`);
        }
        let root: Command = program;
        while (root.parent) root = root.parent;
        const script = completionScript(root, shell as Shell);
        if (ctx.io.json) ctx.io.printJson({ shell, script });
        else ctx.io.out(script);
      }),
    );
}
