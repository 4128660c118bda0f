/**
 * The clients a command uses, built in one place from its flags > env > profile (> a prompt on a TTY), as gh's
 * cmdutil Factory does. CommandContext exposes them lazily (ctx.thingpark(), ctx.thingworx(), ctx.pool()); this
 * module is loaded only when a command asks for one. Every client gets the one --timeout and reports its slow calls
 * to a spinner on the terminal.
 */
import type { ThingParkClient } from '../thingpark/api.js';
// This module is itself loaded lazily (ctx.thingworx(), or `await import('../clients.js')` in an action).
import { ThingWorxRest, type ThingWorxRestOptions } from '../thingworx/rest.js';
import type { HttpEvent } from '../util/http.js';
import type { CommandContext } from './context.js';
import { slowCallSpinner } from './spinner.js';

/** The flags of the ThingPark API (connection commands). */
export interface ThingParkFlags {
  thingparkUrl?: string;
  thingparkApi?: string;
  thingparkTokenUrl?: string;
  clientId?: string;
  clientSecret?: string;
  thingparkCa?: string;
}

/** The flags of a ThingWorx REST client. */
export interface ThingWorxFlags {
  thingworxUrl?: string;
  appKey?: string;
  ca?: string;
  insecure?: boolean | string;
}

/** The platform flags of a command that pushes to ThingWorx and sends LRC downlinks (bridge, downlink push). */
export interface PlatformFlags {
  thingworxUrl?: string;
  appKey?: string;
  ca?: string;
  insecure?: boolean;
  downlinkUrl?: string;
  thingparkCa?: string;
}

/** The ThingPark URL, flavour and endpoints (no credentials: what --dry-run needs). */
export async function thingparkEndpoints(ctx: CommandContext, flags: ThingParkFlags) {
  const { apiEndpoints, parseFlavour } = await import('../thingpark/api.js');
  const url = await ctx.resolve('thingparkUrl', flags.thingparkUrl, {
    message: 'ThingPark URL (https://host)',
    validate: (v) => {
      try {
        apiEndpoints(v);
        return true;
      } catch (err) {
        return (err as Error).message;
      }
    },
  });
  const flavour = parseFlavour(ctx.settings.value('thingparkApi', flags.thingparkApi));
  const tokenUrl = ctx.settings.value('thingparkTokenUrl', flags.thingparkTokenUrl);
  return { url, flavour, tokenUrl, endpoints: apiEndpoints(url, flavour, tokenUrl) };
}

export async function thingparkClient(ctx: CommandContext, flags: ThingParkFlags): Promise<ThingParkClient> {
  const { ThingParkClient } = await import('../thingpark/api.js');
  const s = await thingparkEndpoints(ctx, flags);
  const clientId = await ctx.resolve('thingparkClientId', flags.clientId, { message: 'ThingPark client id' });
  const clientSecret = await ctx.resolve('thingparkClientSecret', flags.clientSecret, {
    message: 'ThingPark client secret',
    secret: true,
  });
  const dispatcher = await thingparkDispatcherOf(ctx, flags.thingparkCa);
  return new ThingParkClient({
    ...(dispatcher ? { dispatcher } : {}),
    url: s.url,
    flavour: s.flavour,
    tokenUrl: s.tokenUrl,
    clientId,
    clientSecret,
    timeoutMs: ctx.timeoutMs(),
    onEvent: (e) => ctx.io.debug(e.message),
    onHttp: spinnerFor(ctx),
  });
}

/** The dispatcher for ThingPark's endpoints (API, token, LRC): the CA of --thingpark-ca, a bounded connect time. */
export async function thingparkDispatcherOf(ctx: CommandContext, caFlag: string | undefined) {
  const ca = ctx.ca('thingparkCa', caFlag);
  const { httpAgent, DEFAULT_CONNECT_TIMEOUT_MS } = await import('../util/http.js');
  return httpAgent({ ...(ca ? { ca } : {}), connectTimeoutMs: Math.min(DEFAULT_CONNECT_TIMEOUT_MS, ctx.timeoutMs()) });
}

/**
 * A ThingWorx REST client. `appKeySetting` picks the key (the connector's by default; thingworx setup passes the
 * administrator's). Warns once when certificate verification is off.
 */
export async function thingworxClient(
  ctx: CommandContext,
  flags: ThingWorxFlags,
  appKeySetting: 'thingworxAppKey' | 'thingworxAdminKey' = 'thingworxAppKey',
): Promise<ThingWorxRest> {
  const s = await thingworxSettings(ctx, flags, appKeySetting);
  return thingworxRest({
    url: s.url,
    appKey: s.appKey,
    ...(s.ca ? { ca: s.ca } : {}),
    insecure: s.insecure,
    timeoutMs: ctx.timeoutMs(),
    onHttp: spinnerFor(ctx),
  });
}

/**
 * The one place the CLI constructs a ThingWorx REST client, for settings resolved elsewhere (thingworx setup's
 * administrator and new keys, import-template's --timeout, the sandbox's emulator). `ctx` adds the spinner.
 */
export function thingworxRest(o: ThingWorxRestOptions, ctx?: CommandContext): ThingWorxRest {
  return new ThingWorxRest({ ...(ctx ? { onHttp: spinnerFor(ctx) } : {}), ...o });
}

export async function thingworxSettings(
  ctx: CommandContext,
  flags: ThingWorxFlags,
  appKeySetting: 'thingworxAppKey' | 'thingworxAdminKey' = 'thingworxAppKey',
) {
  const url = await ctx.resolve('thingworxUrl', flags.thingworxUrl, { message: 'ThingWorx URL (https://host:port)' });
  const appKey = await ctx.resolve(appKeySetting, flags.appKey, {
    message: appKeySetting === 'thingworxAdminKey' ? "Administrator's application key" : 'ThingWorx application key',
    secret: true,
  });
  const ca = ctx.ca('thingworxCa', flags.ca);
  const insecure = ctx.settings.enabled(
    'thingworxInsecure',
    flags.insecure === true || flags.insecure === 'true' ? true : undefined,
  );
  if (insecure) ctx.io.warn('TLS certificate verification is off (--insecure): never use this in production.');
  return { url, appKey, ca, insecure };
}

/** The AlwaysOn pool (as the bridge's sink) and the REST directory, assembled by bridge/connect.ts. */
export async function thingworxPool(ctx: CommandContext, flags: ThingWorxFlags & { pipeCount?: number }) {
  const s = await thingworxSettings(ctx, flags);
  const { connectThingWorx } = await import('../bridge/connect.js');
  return connectThingWorx({
    thingworxUrl: s.url,
    appKey: s.appKey,
    ...(s.ca ? { ca: s.ca } : {}),
    insecure: s.insecure,
    ...(flags.pipeCount ? { pipeCount: flags.pipeCount } : {}),
    restTimeoutMs: ctx.timeoutMs(),
  });
}

/** A spinner on the terminal while an HTTP call of this command is slow. */
function spinnerFor(ctx: CommandContext): (e: HttpEvent) => void {
  return slowCallSpinner(ctx.io);
}
