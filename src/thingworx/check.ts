/**
 * `tpx thingworx check`: every set-up item of the Actility guide checked at once, returned as data (the CLI
 * renders it). Items come in a fixed order; an item that cannot be decided because an earlier one failed is
 * "skipped" with the reason. Probes leave nothing behind: the probe Thing is deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { checkAlwaysOn, ghostItem, policyItem, readBindPolicy } from './check-alwayson.js';
import { connectorsItem, hostedItem, lookForHosted, otherConnectors } from './check-connectors.js';
import { checkKey } from './check-key.js';
import { checkPermissions, checkTemplate, deleteThing } from './check-platform.js';
import { countConnectors, listSessions } from './check-sessions.js';
import { checkTransport } from './check-transport.js';
import {
  CHECK_ITEMS,
  type CheckId,
  type CheckItem,
  type CheckStatus,
  item,
  type ThingWorxCheckOptions,
  type ThingWorxCheckReport,
} from './check-types.js';
import { normaliseThingWorxUrl, ThingWorxRest } from './rest.js';
import { DEFAULT_TEMPLATE_NAME } from './template.js';

export type {
  CheckItem,
  CheckStatus,
  GhostSession,
  HostedConnection,
  ThingWorxCheckOptions,
  ThingWorxCheckReport,
} from './check-types.js';
export { CHECK_ITEMS } from './check-types.js';

/** The check options, and an administrator signed in with a user name and password instead of a key. */
export interface ThingWorxCheckRun extends ThingWorxCheckOptions {
  /**
   * Sends an administrator's HTTP Basic credentials (setup-auth.ts): used like `adminKey`, to read the Bind
   * Protection Policy and list the sessions. Not closed here.
   */
  adminDispatcher?: Dispatcher;
}

/** One run of the checks: its settings, the items so far and how they are added. */
interface CheckRun {
  options: ThingWorxCheckRun;
  now: Date;
  template: string;
  timeoutMs: number;
  url: URL;
  items: CheckItem[];
  add(...list: CheckItem[]): void;
  /** Every item not decided yet, skipped for `reason`. */
  skipRest(reason: string): void;
  /** After a stop request: the remaining items are skipped, the probe is still deleted. */
  stopped(): boolean;
  report(user?: string): ThingWorxCheckReport;
}

type Transport = Awaited<ReturnType<typeof checkTransport>>;

export async function runThingWorxChecks(options: ThingWorxCheckRun): Promise<ThingWorxCheckReport> {
  const run = startRun(options);
  const { now, timeoutMs, url } = run;
  const transport = await checkTransport(url, { ca: options.ca, insecure: options.insecure, timeoutMs, now });
  run.add(...transport.items);
  if (transport.mode === 'blocked') {
    run.skipRest(transport.blockedReason ?? 'the transport failed');
    return run.report();
  }
  const { rest, adminRest } = restClients(run, transport);
  const probe: { thing?: string } = {};
  let user: string | undefined;
  try {
    user = await checkPlatform(run, transport, rest, adminRest, probe);
  } finally {
    if (probe.thing) await deleteProbe(run, rest, probe.thing);
    await rest.close();
    await adminRest?.close();
  }
  return run.report(user);
}

/** The run's settings (in the order they are read) and its list of items. */
function startRun(options: ThingWorxCheckRun): CheckRun {
  const now = options.now?.() ?? new Date();
  const template = options.template ?? DEFAULT_TEMPLATE_NAME;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const url = normaliseThingWorxUrl(options.url, true);
  const items: CheckItem[] = [];
  const add = (...list: CheckItem[]) => {
    for (const i of list) {
      items.push(i);
      options.onItem?.(i);
    }
  };
  const skipRest = (reason: string) => {
    const done = new Set(items.map((i) => i.id));
    for (const id of Object.keys(CHECK_ITEMS) as CheckId[]) {
      if (!done.has(id)) add(item(id, 'skipped', `Not checked: ${reason}.`));
    }
  };
  return {
    options,
    now,
    template,
    timeoutMs,
    url,
    items,
    add,
    skipRest,
    stopped: () => {
      if (!options.signal?.aborted) return false;
      skipRest('stopped');
      return true;
    },
    report: (user?: string): ThingWorxCheckReport => {
      const counts: Record<CheckStatus, number> = { passed: 0, failed: 0, warned: 0, skipped: 0 };
      for (const i of items) counts[i.status] += 1;
      return { url: url.origin, template, ok: counts.failed === 0, counts, items, ...(user ? { user } : {}) };
    },
  };
}

/** The REST client of the checked key, and the administrator's when it is another one. */
function restClients(run: CheckRun, transport: Transport) {
  const { options, url, timeoutMs } = run;
  const restWith = (appKey: string, dispatcher?: Dispatcher) =>
    new ThingWorxRest({
      url: url.origin,
      appKey,
      ...(dispatcher ? { dispatcher } : {}),
      ...(options.ca ? { ca: options.ca } : {}),
      insecure: options.insecure ?? false,
      timeoutMs,
      retries: 1,
      allowPlainHttp: transport.mode === 'plain',
    });
  const rest = restWith(options.appKey);
  // The administrator's key (or user and password), when it is another one, reads the policy and lists this key's
  // sessions.
  const adminRest = options.adminDispatcher
    ? restWith('', options.adminDispatcher)
    : options.adminKey && options.adminKey !== options.appKey
      ? restWith(options.adminKey)
      : undefined;
  return { rest, adminRest };
}

/** The key, the permissions (the probe Thing goes into `probe`), the template, then the AlwaysOn items. */
async function checkPlatform(
  run: CheckRun,
  transport: Transport,
  rest: ThingWorxRest,
  adminRest: ThingWorxRest | undefined,
  probe: { thing?: string },
): Promise<string | undefined> {
  const { options, now, template, add, skipRest, stopped } = run;
  const key = await checkKey(rest, options.appKey, now);
  add(...key.items);
  if (!key.user) {
    skipRest('the application key was rejected');
    return undefined;
  }
  const suffix = `${now.getTime().toString(36)}-${randomBytes(3).toString('hex')}`;
  const perms = await checkPermissions(rest, {
    template,
    writeProbe: options.writeProbe ?? false,
    suffix,
    templateExists: async () => (await rest.getThingTemplate(template).catch(() => undefined)) !== undefined,
  });
  probe.thing = perms.probeThing;
  add(...perms.items);
  if (stopped()) return key.user;
  add(await checkTemplate(rest, template));
  if (stopped()) return key.user;
  if (transport.mode === 'plain') {
    skipRest('the AlwaysOn connection needs TLS');
    return key.user;
  }
  await checkConnection(run, rest, adminRest, key, probe.thing);
  return key.user;
}

/** The AlwaysOn connection, the Bind Protection Policy, ghost sessions, other connectors and hosted ones. */
async function checkConnection(
  run: CheckRun,
  rest: ThingWorxRest,
  adminRest: ThingWorxRest | undefined,
  key: Awaited<ReturnType<typeof checkKey>>,
  probeThing: string | undefined,
): Promise<void> {
  const { options, now, timeoutMs, url, add, stopped } = run;
  const read = (adminRest ? await readBindPolicy(adminRest) : undefined) ?? (await readBindPolicy(rest));
  const admin = adminRest ?? rest;
  // Every session (holding binds or not), listed before the probes open theirs. With a separate administrator's
  // key, the sessions that matter are the checked key's own.
  const every = await listSessions(admin, { ...options.liveness, now });
  const sessions = adminRest && key.keyName ? every?.filter((s) => s.appKeyName === key.keyName) : every;
  const ao = await checkAlwaysOn(
    {
      url: url.origin,
      appKey: options.appKey,
      ca: options.ca,
      insecure: options.insecure,
      timeoutMs,
      probeThing,
      probeAsked: options.writeProbe ?? false,
    },
    read === undefined,
  );
  add(...ao.items);
  add(policyItem(read, ao.inferred, probeThing !== undefined, adminRest !== undefined));
  if (stopped()) return;
  add(
    await ghostItem(
      admin,
      sessions,
      read?.policy ?? ao.inferred,
      key.admin || adminRest !== undefined,
      options.confirmCloseGhosts,
    ),
  );
  const pipeCount = options.pipeCount ?? 1;
  const hosted = await lookForHosted(options.hostedConnections, url.origin);
  add(connectorsItem(sessions, key.keyName, pipeCount, hosted, otherConnectors(every ?? [], key.keyName)));
  const ofKey = sessions?.filter((s) => !key.keyName || s.appKeyName === key.keyName) ?? [];
  add(hostedItem(hosted, url.origin, countConnectors(ofKey, pipeCount).connectors));
}

/** Deletes the probe Thing; when it cannot, the create-thing item says so (warned) and how to delete it. */
async function deleteProbe(run: CheckRun, rest: ThingWorxRest, name: string): Promise<void> {
  await deleteThing(rest, name).catch((err: unknown) => {
    const i = run.items.find((x) => x.id === 'create-thing');
    if (i) {
      i.status = i.status === 'failed' ? 'failed' : 'warned';
      i.detail += ` The probe Thing ${name} could not be deleted (${(err as Error).message}).`;
      i.fix = `Delete the Thing ${name} in Composer.`;
    }
  });
}
