/**
 * Builds the commander program. Command group files are light (commander only); each command loads its
 * services with `await import()` inside its action so that `tpx --help` stays fast.
 */
import { Command, CommanderError, Option } from 'commander';
import { App } from './app.js';
import { register as alwayson } from './commands/alwayson.js';
import { register as bridge } from './commands/bridge.js';
import { register as completion } from './commands/completion.js';
import { register as connection } from './commands/connection.js';
import { register as downlink } from './commands/downlink.js';
import { register as driver } from './commands/driver.js';
import { register as emulator } from './commands/emulator.js';
import { register as explain } from './commands/explain.js';
import { register as fleet } from './commands/fleet.js';
import { register as profile } from './commands/profile.js';
import { register as sandbox } from './commands/sandbox.js';
import { register as thing } from './commands/thing.js';
import { register as thingworx } from './commands/thingworx.js';
import { register as uplink } from './commands/uplink.js';
import { examplesText } from './examples.js';
import { VERSION } from './version.js';

export function buildProgram(app: App): Command {
  const program = new Command('tpx');
  program
    .description('Connect Actility ThingPark (LoRaWAN) to PTC ThingWorx: set up, check, bridge, and test.')
    .version(VERSION, '-V, --version')
    .option('--json', 'print one JSON document on stdout (NDJSON for streams), nothing else')
    .option('--profile <name>', 'settings profile to use (env TPX_PROFILE)')
    .option('-v, --verbose', 'show details and stack traces')
    .option('-q, --quiet', 'print only results and errors')
    .option('-y, --yes', 'answer yes to confirmations; never prompt')
    .option(
      '--timeout <duration>',
      'longest wait for each call to ThingPark or ThingWorx, e.g. 5s (default 30s; env\n' +
        'TPX_TIMEOUT; a bare number counts seconds, milliseconds for thingworx check and import-template)',
    )
    .addOption(new Option('--no-color', 'disable colour (also NO_COLOR)'))
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureHelp({
      // gh's INHERITED FLAGS: --json, --yes, --profile … in every subcommand's help.
      showGlobalOptions: true,
      // Wrap descriptions even beside long flag names (commander's default, 40, left some at 145 columns).
      minWidthToWrap: 24,
      styleTitle: (title: string) => TITLES[title] ?? title,
    })
    .configureOutput({
      writeOut: (s) => (app.options.stdout ?? process.stdout).write(wrapHelp(s, HELP_WIDTH)),
      writeErr: (s) => (app.options.stderr ?? process.stderr).write(wrapHelp(s, HELP_WIDTH)),
      getOutHelpWidth: () => HELP_WIDTH,
      getErrHelpWidth: () => HELP_WIDTH,
      outputError: (s, write) => {
        write(s.replace(/^error: /, 'error: '));
        write('fix: run the command again with --help to see its usage.\n');
      },
    });
  program.addHelpText(
    'after',
    `
Settings resolve flags > TPX_* environment variables > profile
($XDG_CONFIG_HOME/tpx/config.json).
Exit codes: 0 ok, 1 failure, 2 usage, 3 a check found problems.
Start here: tpx sandbox`,
  );

  profile(program, app);
  connection(program, app);
  thingworx(program, app);
  thing(program, app);
  bridge(program, app);
  fleet(program, app);
  uplink(program, app);
  downlink(program, app);
  driver(program, app);
  sandbox(program, app);
  emulator(program, app);
  alwayson(program, app);
  explain(program, app);
  completion(program, app);
  attachExamples(program, []);
  return program;
}

/** Help is wrapped at 80 columns, whatever the terminal. */
const HELP_WIDTH = 80;

const TITLES: Record<string, string> = { 'Options:': 'Flags:', 'Global Options:': 'Inherited flags:' };

/** Each command with an action gets the EXAMPLES section of src/cli/examples.ts. */
function attachExamples(cmd: Command, path: string[]): void {
  for (const sub of cmd.commands) {
    const p = [...path, sub.name()];
    const text = examplesText(p.join(' '));
    if (text) sub.addHelpText('after', text);
    attachExamples(sub, p);
  }
}

/**
 * Wraps the lines of help text longer than `width` at spaces, continuing at the line's indent; the rest of an
 * overlong line joins the next line of the same paragraph (same indent, not blank, not a flag or an example), so
 * that prose reflows rather than leaving ragged lines. Example lines ("  $ tpx …") are left whole to be copied.
 */
export function wrapHelp(text: string, width: number): string {
  const lines = text.split('\n');
  const out: string[] = [];
  const indentOf = (l: string) => /^\s*/.exec(l)![0];
  const joinable = (l: string | undefined, indent: string) =>
    l !== undefined && l.trim() !== '' && indentOf(l) === indent && !/^\s*\$ |^\s+-/.test(l);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.length <= width || /^\s*\$ /.test(line)) {
      out.push(line);
      continue;
    }
    const indent = indentOf(line);
    while (line.length > width) {
      const words = line.slice(indent.length).split(' ');
      let current = '';
      let k = 0;
      for (; k < words.length; k++) {
        const next = current ? `${current} ${words[k]}` : words[k]!;
        if (current && indent.length + next.length > width) break;
        current = next;
      }
      out.push(indent + current);
      const rest = words.slice(k).join(' ');
      if (!rest) {
        line = '';
        break;
      }
      if (joinable(lines[i + 1], indent)) {
        i += 1;
        line = `${indent}${rest} ${lines[i]!.slice(indent.length)}`;
      } else line = indent + rest;
    }
    if (line) out.push(line);
  }
  return out.join('\n');
}
/** Runs the CLI with the given arguments and returns the exit code. */
export async function runCli(argv: string[], app: App = new App()): Promise<number> {
  const program = buildProgram(app);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return app.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        return 0;
      }
      // commander.executeSubCommandAsync etc. never happen here; everything else is a usage error. With --json it
      // is also the one JSON document on stdout, as every other error is (the text went to stderr already).
      const end = argv.indexOf('--');
      if ((end < 0 ? argv : argv.slice(0, end)).includes('--json')) {
        const error = {
          code: 'TPX_USAGE',
          message: err.message.replace(/^error: /, ''),
          fix: 'Run the command again with --help to see its usage.',
        };
        (app.options.stdout ?? process.stdout).write(`${JSON.stringify({ error })}\n`);
      }
      return 2;
    }
    throw err;
  }
}
