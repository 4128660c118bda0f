/**
 * `tpx sandbox`: the ThingWorx and ThingPark emulators and the bridge in this process, simulated devices and
 * downlinks, and a profile for the other commands. The work is in src/cli/sandbox/ (loaded when it runs).
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { DEFAULT_TEMPLATE_NAME } from '../../thingworx/template-name.js';
import type { App } from '../app.js';
import type { CommandContext, GlobalOptions } from '../context.js';
import { durationOption, numberOption, wholeNumberOption } from '../options.js';

/** --downlink-every: 0 (never), or from 50ms; a bare number is seconds. */
function downlinkEvery(v: string | undefined): number {
  const ms = durationOption('--downlink-every', v, { bare: 's', min: 0, max: 86_400_000 }) ?? 10_000;
  if (ms > 0 && ms < 50) durationOption('--downlink-every', v, { bare: 's', min: 50, max: 86_400_000 });
  return ms;
}

export interface SandboxOptions {
  devices?: string;
  rate?: string;
  duration?: string;
  downlinkEvery?: string;
  bindCheck?: string;
  template?: string;
  pipeCount?: string;
  listen?: string;
  spoolDir?: string;
}

export async function runSandboxCommand(ctx: CommandContext, o: SandboxOptions & GlobalOptions): Promise<number> {
  const settings = {
    profile: o.profile ?? 'sandbox',
    devices: wholeNumberOption('--devices', o.devices, 1, 100_000) ?? 20,
    rate: numberOption('--rate', o.rate, 0, 100_000) ?? 5,
    durationMs: durationOption('--duration', o.duration, { bare: 's', min: 100, max: 30 * 86_400_000 }),
    downlinkEveryMs: downlinkEvery(o.downlinkEvery),
    bindCheckMs: durationOption('--bind-check', o.bindCheck, { bare: 's', min: 0, max: 86_400_000 }),
    template: o.template ?? DEFAULT_TEMPLATE_NAME,
    pipeCount: wholeNumberOption('--pipe-count', o.pipeCount, 1, 255) ?? 1,
    listen: o.listen,
    spoolDir: o.spoolDir,
  };
  if (settings.listen !== undefined && !/^(\[[^\]]+\]|[^:]*):\d{1,5}$/.test(settings.listen)) {
    throw new UsageError(`--listen "${settings.listen}" is not HOST:PORT.`, 'Use e.g. --listen 127.0.0.1:8080.');
  }
  const { runSandbox } = await import('../sandbox/run.js');
  return runSandbox(ctx, settings);
}

export function register(program: Command, app: App): void {
  program
    .command('sandbox')
    .description('run the whole chain on this machine: emulators, bridge, simulated devices (start here)')
    .option('--devices <n>', 'simulated devices, DevEUIs 70B3D57ED0000001, 70B3D57ED0000002, … (default 20)')
    .option('--rate <n>', 'uplinks per second, all devices together (default 5; 0 = none)')
    .option('--duration <duration>', 'stop by itself after this long (e.g. 30s) and print a summary')
    .option('--downlink-every <duration>', 'write a downlink in ThingWorx this often (default 10s; 0 = never)')
    .option('--bind-check <duration>', 'how often the bridge verifies it still holds its Things (default 10s)')
    .option('--template <name>', `Thing Template to import and use (default ${DEFAULT_TEMPLATE_NAME})`)
    .option('--pipe-count <n>', 'AlwaysOn WebSockets of the bridge, 1..255 (default 1)')
    .option('--listen <host:port>', 'bridge ingest address (default 127.0.0.1 on a free port)')
    .option('--spool-dir <dir>', 'bridge spool directory (default a temporary one, removed at exit)')
    .addHelpText(
      'after',
      '\nWrites the profile named by --profile (default "sandbox") with every URL, key and the CA file\n' +
        '($XDG_CONFIG_HOME/tpx/sandbox/<profile>-ca.pem), so that `tpx --profile sandbox <command>` works from\n' +
        'another terminal while it runs. With --json: NDJSON events (sandbox.ready, uplink.sent, uplink.delivered,\n' +
        'downlink.status, bridge events, sandbox.summary). Exit code 0 only when nothing was lost.',
    )
    .action(app.action<SandboxOptions>(async (ctx, o) => runSandboxCommand(ctx, o)));
}
