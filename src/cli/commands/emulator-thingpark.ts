/** `tpx emulator thingpark`: runs the ThingPark stand-in until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import type { App } from '../app.js';
import type { CommandContext } from '../context.js';
import { durationOption, wholeNumberOption } from '../options.js';

export interface EmulatorThingParkOptions {
  port?: string;
  host?: string;
  state?: string;
  tokenTtl?: string;
  openingDelay?: string;
  tls?: boolean;
}

export async function runEmulatorThingPark(ctx: CommandContext, opts: EmulatorThingParkOptions): Promise<void> {
  const port = wholeNumberOption('--port', opts.port, 0, 65535);
  const ttl = durationOption('--token-ttl', opts.tokenTtl, { bare: 's', min: 1000, max: 86_400_000 });
  const tokenTtlSeconds = ttl === undefined ? undefined : Math.round(ttl / 1000);
  const openingDelayMs = durationOption('--opening-delay', opts.openingDelay, { bare: 'ms', min: 0, max: 600_000 });
  const { signal, release } = ctx.shutdownSignal();
  const { startThingParkEmulator } = await import('../../emulators/thingpark/index.js');
  const emu = await startThingParkEmulator({
    port,
    host: opts.host,
    state: opts.state,
    tokenTtlSeconds,
    openingDelayMs,
    tls: opts.tls === true,
  });
  try {
    if (ctx.io.json) {
      ctx.io.printJson({
        url: emu.url,
        clientId: emu.clientId,
        clientSecret: emu.clientSecret,
        asId: emu.asId,
        asKey: emu.asKey,
        ...(emu.caFile ? { caFile: emu.caFile } : {}),
      });
    } else {
      ctx.io.out(
        `ThingPark emulator ready at ${emu.url} (${emu.caFile ? 'HTTPS with a self-signed certificate' : 'plain HTTP'}, for tests and demos only)`,
      );
      ctx.io.out(`export TPX_THINGPARK_URL=${emu.url}`);
      if (emu.caFile) ctx.io.out(`export TPX_THINGPARK_CA=${emu.caFile}`);
      ctx.io.out(`export TPX_THINGPARK_CLIENT_ID=${emu.clientId}`);
      ctx.io.out(`export TPX_THINGPARK_CLIENT_SECRET=${emu.clientSecret}`);
      ctx.io.out(`export TPX_THINGPARK_DOWNLINK_URL=${emu.downlinkUrl}`);
      ctx.io.out(`export TPX_AS_ID=${emu.asId}`);
      ctx.io.out(`export TPX_AS_KEY=${emu.asKey}`);
      ctx.io.info('Accepted downlinks: GET /_emulator/downlinks. Stop with Ctrl-C.');
    }
    if (!ctx.io.json) {
      emu.on('downlink', (d: { devEui: string; fPort: number; payloadHex?: string }) => {
        ctx.io.info(`downlink accepted: ${d.devEui} port ${d.fPort} ${d.payloadHex ?? '(flush)'}`);
      });
    }
    if (!signal.aborted)
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  } finally {
    await emu.close();
    release();
  }
  ctx.io.info('ThingPark emulator stopped.');
}

export function register(parent: Command, app: App): void {
  parent
    .command('thingpark')
    .description(
      'run a ThingPark emulator: OAuth2, connections API, LRC downlink (plain HTTP on 127.0.0.1, or HTTPS with --tls)',
    )
    .option('--port <n>', 'port to listen on (default: any free port)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1)')
    .option('--state <file>', 'keep credentials, connections and downlinks in this JSON file across restarts')
    .option(
      '--token-ttl <duration>',
      'access token lifetime (expires_in), e.g. 5m (default 5m; a bare number is seconds)',
    )
    .option(
      '--opening-delay <duration>',
      'how long new connections stay OPENING, e.g. 2s (default 1s; a bare number is milliseconds)',
    )
    .option('--tls', 'serve HTTPS with a generated self-signed certificate (its file is printed, for TPX_THINGPARK_CA)')
    .action(app.action<EmulatorThingParkOptions>(async (ctx, opts) => runEmulatorThingPark(ctx, opts)));
}
