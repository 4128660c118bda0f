/** `tpx emulator thingworx`: runs the ThingWorx platform emulator until SIGINT/SIGTERM. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { App } from '../app.js';
import type { CommandContext } from '../context.js';
import { durationOption, wholeNumberOption } from '../options.js';

export interface EmulatorThingWorxOptions {
  port?: string;
  host?: string;
  state?: string;
  saveState?: boolean;
  /** true (--tls: HTTPS), false (--no-tls: plain HTTP), or an older mode name. */
  tls?: boolean | string;
  tlsVersion?: string;
  idleTimeout?: string;
  bindRefusal?: string;
  lostBindPushes?: string;
  takeoverNotice?: string;
  cert?: string;
  key?: string;
}

const TLS_MODES = ['default', 'tls1.1-only', 'plain-http'] as const;

/**
 * --tls means what it means for `emulator thingpark`: serve HTTPS (here the default); --no-tls serves plain HTTP;
 * --tls-version 1.1 serves only TLS 1.1 (an outdated platform). The older `--tls default|tls1.1-only|plain-http`
 * still works.
 */
function tlsMode(opts: EmulatorThingWorxOptions): (typeof TLS_MODES)[number] | undefined {
  if (opts.tlsVersion !== undefined && opts.tlsVersion !== '1.1' && opts.tlsVersion !== '1.2') {
    throw new UsageError(
      `--tls-version must be 1.2 or 1.1 (got "${opts.tlsVersion}").`,
      'Use --tls-version 1.2 (TLS 1.2 and later, the default) or --tls-version 1.1 (only TLS 1.1).',
    );
  }
  if (typeof opts.tls === 'string' && !(TLS_MODES as readonly string[]).includes(opts.tls)) {
    throw new UsageError(
      `--tls takes no value (got "${opts.tls}").`,
      'Use --tls (HTTPS, the default), --no-tls (plain HTTP) or --tls-version 1.1 (only TLS 1.1).',
    );
  }
  if (opts.tls === false) {
    if (opts.tlsVersion) throw new UsageError('--no-tls and --tls-version contradict each other.', 'Give one of them.');
    return 'plain-http';
  }
  if (typeof opts.tls === 'string') return opts.tls as (typeof TLS_MODES)[number];
  if (opts.tlsVersion === '1.1') return 'tls1.1-only';
  return opts.tls === true || opts.tlsVersion === '1.2' ? 'default' : undefined;
}

/** A flag with fixed values: undefined when not given, a UsageError for anything else. */
function choice<T extends string>(flag: string, value: string | undefined, values: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if ((values as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} "${value}" is not ${values.join(' or ')}.`, `Use ${flag} ${values[0]}.`);
}

export async function runEmulatorThingWorx(ctx: CommandContext, opts: EmulatorThingWorxOptions): Promise<void> {
  const port = wholeNumberOption('--port', opts.port, 0, 65535);
  const idleTimeoutMs = durationOption('--idle-timeout', opts.idleTimeout, { bare: 's', min: 1000, max: 86_400_000 });
  const tls = tlsMode(opts);
  const bindRefusal = choice('--bind-refusal', opts.bindRefusal, ['whole-message', 'per-name'] as const);
  const pushes = choice('--lost-bind-pushes', opts.lostBindPushes, ['accept', 'refuse'] as const);
  const notice = choice('--takeover-notice', opts.takeoverNotice, ['none', 'unbind'] as const);
  if (opts.saveState && !opts.state) {
    throw new UsageError(
      '--save-state needs --state <file> (where to save).',
      'Run: tpx emulator thingworx --state state.json --save-state',
    );
  }
  if (Boolean(opts.cert) !== Boolean(opts.key)) {
    throw new UsageError(
      '--cert and --key go together.',
      'Run: tpx emulator thingworx --cert server.pem --key server-key.pem',
    );
  }
  // With --save-state a missing file is created on exit; without it, a missing file is an error (loadStateFile).
  const state = opts.state && (existsSync(opts.state) || !opts.saveState) ? opts.state : undefined;
  const { signal, release } = ctx.shutdownSignal();
  const { startThingWorxEmulator } = await import('../../emulators/thingworx/index.js');
  let certificate: import('../../emulators/tls.js').TlsMaterial | undefined;
  if (opts.cert && opts.key) {
    const { loadCertificate } = await import('../../emulators/tls.js');
    try {
      certificate = loadCertificate(opts.cert, opts.key);
    } catch (err) {
      throw new UsageError(
        `Cannot read the certificate or key: ${(err as Error).message}`,
        'Check the paths given to --cert and --key.',
      );
    }
  }
  const emu = await startThingWorxEmulator({
    certificate,
    port,
    host: opts.host,
    state,
    tls,
    idleTimeoutMs,
    ...(bindRefusal ? { bindRefusal } : {}),
    lostBinds: { ...(pushes ? { pushes } : {}), ...(notice ? { notice } : {}) },
  });
  try {
    if (ctx.io.json) {
      ctx.io.printJson({ restUrl: emu.restUrl, wsUrl: emu.wsUrl, appKey: emu.appKey, caFile: emu.caFile });
    } else {
      ctx.io.out(`ThingWorx emulator ready at ${emu.restUrl}/Thingworx (for tests and demos only)`);
      ctx.io.out(`AlwaysOn endpoint: ${emu.wsUrl}`);
      ctx.io.out(`export TPX_THINGWORX_URL=${emu.restUrl}`);
      ctx.io.out(`export TPX_THINGWORX_APP_KEY=${emu.appKey}`);
      if (emu.caFile) ctx.io.out(`export TPX_THINGWORX_CA=${emu.caFile}`);
      else ctx.io.warn('Plain HTTP: no TLS (the plain-http scenario).');
      ctx.io.info('Stop with Ctrl-C.');
      emu.events.on('bind', (e: { sessionId: number; names: string[] }) =>
        ctx.io.debug(`session ${e.sessionId} bound ${e.names.length} Thing(s)`),
      );
      emu.events.on('bindRejected', (e: { sessionId: number; rejected: string[]; reason: string }) =>
        ctx.io.info(`session ${e.sessionId}: BIND refused (${e.reason}): ${e.rejected.slice(0, 5).join(', ')}`),
      );
      emu.events.on('rest', (e: { method: string; path: string; status: number }) =>
        ctx.io.debug(`${e.method} ${e.path} -> ${e.status}`),
      );
    }
    if (!signal.aborted)
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    if (opts.saveState && opts.state) {
      emu.saveState(opts.state);
      ctx.io.info(`State saved to ${opts.state}.`);
    }
  } finally {
    await emu.close();
    release();
  }
  ctx.io.info('ThingWorx emulator stopped.');
}

export function register(parent: Command, app: App): void {
  parent
    .command('thingworx')
    .description(
      'run a ThingWorx platform emulator: REST under /Thingworx and AlwaysOn on /Thingworx/WS (HTTPS, self-signed)',
    )
    .option('--port <n>', 'port to listen on (default: any free port)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1)')
    .option('--state <file>', 'load users, keys, rights, templates, Things and policy from this JSON file')
    .option('--save-state', 'write the state back to the --state file on exit')
    .option('--tls [mode]', 'serve HTTPS (the default; overrides the state file; older modes: plain-http, tls1.1-only)')
    .option('--no-tls', 'serve plain HTTP, as a platform without TLS does (overrides the state file)')
    .option(
      '--tls-version <version>',
      '1.2 (TLS 1.2 and later, the default) or 1.1 (only TLS 1.1, an outdated platform)',
    )
    .option(
      '--bind-refusal <mode>',
      'a BIND with names it cannot bind: whole-message (refuse all, default) or per-name',
    )
    .option('--lost-bind-pushes <mode>', 'pushes of a session whose Things another took: accept (default) or refuse')
    .option('--takeover-notice <mode>', 'what a session whose Things another took is sent: none (default) or unbind')
    .option('--cert <file>', 'serve this certificate (PEM) instead of a generated self-signed one (with --key)')
    .option('--key <file>', 'private key (PEM) of --cert')
    .option(
      '--idle-timeout <duration>',
      'close AlwaysOn connections idle this long, e.g. 2m (default 60s; a bare number is seconds)',
    )
    .addHelpText(
      'after',
      '\nWith --json prints one line {"restUrl","wsUrl","appKey","caFile"} once ready. The app key is the state\'s\n' +
        "defaultAppKey, else an administrator's key. A state file holds users, keys, rights, templates, Things and\n" +
        'the bind policy as JSON: write one to start from with --state s.json --save-state (then Ctrl-C).',
    )
    .action(app.action<EmulatorThingWorxOptions>(async (ctx, opts) => runEmulatorThingWorx(ctx, opts)));
}
