/**
 * Check items on the AlwaysOn side (research/alwayson.md §14, thingworx-rest.md §6): AUTH with the key, BIND of
 * the probe Thing, the Bind Protection Policy (read from the WSCommunicationsSubsystem configuration where the
 * key may, else inferred by binding the probe Thing a second time from another connection) and the ghost
 * sessions of this key (admin keys only; closed when the caller confirms).
 */
import { AlwaysOnClient } from '../alwayson/client.js';
import { BindRejectedError } from '../alwayson/errors.js';
import { TpxError } from '../errors.js';
import { type CheckItem, type GhostSession, item } from './check-types.js';
import { ThingWorxError } from './errors.js';
import { FIX } from './fixes.js';
import type { ThingWorxRest } from './rest.js';

const WS = 'Subsystems/WSCommunicationsSubsystem';
const POLICY = /\b(first|last)[\s_-]*in[\s_-]*wins\b/i;

export interface AlwaysOnCheckOptions {
  url: string;
  appKey: string;
  ca?: string | Buffer;
  insecure?: boolean;
  timeoutMs: number;
  probeThing?: string;
  /** A probe Thing was asked for (a missing one was refused, not forgotten). */
  probeAsked?: boolean;
}

export type Policy = 'first-in-wins' | 'last-in-wins';

export interface PolicyRead {
  policy: Policy;
  table: string;
  field: string;
  /** "Enable Visibility Permission Check" is on: binds need Visibility of each Thing. */
  visibilityCheck: boolean;
}

function client(o: AlwaysOnCheckOptions): AlwaysOnClient {
  return new AlwaysOnClient({
    url: o.url,
    appKey: o.appKey,
    ...(o.ca ? { ca: o.ca } : {}),
    insecure: o.insecure ?? false,
    requestTimeoutMs: o.timeoutMs,
    connectTimeoutMs: o.timeoutMs,
    reconnect: { initialMs: 60_000, maxMs: 60_000 },
  });
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** AUTH, BIND of the probe Thing, and (when asked) a second BIND from another connection. */
export async function checkAlwaysOn(
  o: AlwaysOnCheckOptions,
  inferPolicy: boolean,
): Promise<{ items: CheckItem[]; inferred?: Policy }> {
  const first = client(o);
  const clients = [first];
  first.on('warning', () => undefined);
  try {
    try {
      await first.start();
    } catch (err) {
      const fix = err instanceof TpxError ? err.fix : undefined;
      return {
        items: [
          item('alwayson-auth', 'failed', errText(err), {
            fix: err instanceof TpxError && err.code === 'TPX_AUTH_FAILED' ? FIX.appKey : fix,
          }),
          item('alwayson-bind', 'skipped', 'AUTH failed.'),
        ],
      };
    }
    const auth = item('alwayson-auth', 'passed', `AUTH accepted (session ${first.session}).`);
    if (!o.probeThing) {
      return {
        items: [
          auth,
          item(
            'alwayson-bind',
            'skipped',
            o.probeAsked
              ? 'No probe Thing to bind: creating it was refused (see CreateThing above).'
              : ['No probe Thing to bind:', { id: 'write-probe', what: 'bind' }],
          ),
        ],
      };
    }
    try {
      await first.bind([o.probeThing]);
    } catch (err) {
      const reason = err instanceof BindRejectedError ? (err.reason ?? '') : '';
      // Nobody else holds a fresh probe Thing: the cause is its template (not RemoteThing) or the visibility check.
      const fix =
        err instanceof BindRejectedError
          ? `${FIX.bindVisibility} Bound Things must be based on RemoteThing.`
          : undefined;
      return {
        items: [
          auth,
          item('alwayson-bind', 'failed', `BIND of the probe Thing ${o.probeThing} refused: ${errText(err)}`, {
            fix: fix ?? (err instanceof TpxError ? err.fix : undefined),
            data: { reason },
          }),
        ],
      };
    }
    const bind = item('alwayson-bind', 'passed', `BIND of the probe Thing ${o.probeThing} accepted.`);
    if (!inferPolicy) return { items: [auth, bind] };
    const second = client(o);
    clients.push(second);
    second.on('warning', () => undefined);
    await second.start();
    try {
      await second.bind([o.probeThing]);
      return { items: [auth, bind], inferred: 'last-in-wins' };
    } catch (err) {
      if (err instanceof BindRejectedError) return { items: [auth, bind], inferred: 'first-in-wins' };
      throw err;
    }
  } finally {
    for (const c of clients.reverse()) await c.close().catch(() => undefined);
  }
}

/** The Bind Protection Policy read from the subsystem configuration, or undefined when the key may not read it. */
export async function readBindPolicy(rest: ThingWorxRest): Promise<PolicyRead | undefined> {
  try {
    const tables = await rest.service(WS, 'GetConfigurationTables');
    const names = tables.rows.map((r) => String(r.name ?? r.tableName ?? r.result ?? '')).filter(Boolean);
    for (const tableName of names) {
      const t = await rest.service(WS, 'GetConfigurationTable', { tableName });
      for (const row of t.rows) {
        for (const [field, value] of Object.entries(row)) {
          const m = typeof value === 'string' ? POLICY.exec(value) : null;
          if (m) {
            const vis = Object.entries(row).find(([k]) => /visibility/i.test(k))?.[1];
            return {
              policy: m[1]!.toLowerCase() === 'last' ? 'last-in-wins' : 'first-in-wins',
              table: tableName,
              field,
              visibilityCheck: vis === true || vis === 'true',
            };
          }
        }
      }
    }
    return undefined;
  } catch (err) {
    if (err instanceof ThingWorxError) return undefined;
    throw err;
  }
}

export function policyItem(
  read: PolicyRead | undefined,
  inferred: Policy | undefined,
  canProbe: boolean,
  adminKeyGiven = false,
): CheckItem {
  const policy = read?.policy ?? inferred;
  const method = read ? `read ${read.table}.${read.field}` : inferred ? 'double bind of the probe Thing' : undefined;
  if (!policy) {
    if (adminKeyGiven) {
      return item(
        'bind-policy',
        'skipped',
        'The administrator key could not read the WSCommunicationsSubsystem configuration.',
        { fix: { id: 'admin-key-invalid', what: 'policy' }, data: { setting: 'thingworxAdminKey' } },
      );
    }
    const why = canProbe
      ? 'Could not read the policy, and the probe Thing could not be bound.'
      : ({ id: 'admin-key-needed', what: 'policy' } as const);
    return item('bind-policy', 'skipped', why);
  }
  const vis = read?.visibilityCheck
    ? ' "Enable Visibility Permission Check" is on: the key\'s user needs Visibility on every Thing it binds.'
    : '';
  const data = { policy, ...(read ? { visibilityCheck: read.visibilityCheck } : {}) };
  if (policy === 'last-in-wins') {
    const detail = `Last in wins: a new connection takes over binds a ghost session still holds.${vis}`;
    return item('bind-policy', 'passed', detail, { method, data });
  }
  const detail = `First in wins: after a connection drops, its ghost session can block the binds ("Binding failed … V1BindMessage").${vis}`;
  return item('bind-policy', 'warned', detail, { fix: FIX.lastInWins, method, data });
}

export async function ghostItem(
  rest: ThingWorxRest,
  sessions: GhostSession[] | undefined,
  policy: Policy | undefined,
  admin: boolean,
  confirm?: (sessions: GhostSession[]) => Promise<boolean>,
): Promise<CheckItem> {
  if (!sessions) {
    return item(
      'ghost-sessions',
      'skipped',
      admin
        ? 'The platform did not list the sessions (QueryEndpointSessions).'
        : { id: 'admin-key-needed', what: 'sessions' },
      admin ? { fix: { id: 'admin-key-invalid', what: 'sessions' }, data: { setting: 'thingworxAdminKey' } } : {},
    );
  }
  // Sessions holding nothing are the connectors item's business (check-connectors.ts).
  sessions = sessions.filter((s) => (s.numberBoundThings ?? 0) > 0);
  if (sessions.length === 0) return item('ghost-sessions', 'passed', 'No AlwaysOn session holds binds.');
  const count = (list: GhostSession[]) => list.reduce((n, s) => n + (s.numberBoundThings ?? 0), 0);
  const keysOf = (list: GhostSession[]) => [...new Set(list.map((s) => s.appKeyName ?? s.userName ?? '?'))].join(', ');
  const things = count(sessions);
  const data = { sessions };
  // A live session is a running connector or bridge; a ghost has no connection but still holds binds
  // (check-sessions.ts says which; sessions of unknown state count as possible ghosts).
  const live = sessions.filter((s) => s.state === 'live');
  const ghosts = sessions.filter((s) => !live.includes(s));
  if (ghosts.length === 0 && !confirm) {
    return item(
      'ghost-sessions',
      policy === 'first-in-wins' ? 'warned' : 'passed',
      `No ghost session; ${live.length} connected session(s) of key ${keysOf(live)} bind ${things} Thing(s): a connector or bridge running now.` +
        (policy === 'first-in-wins' ? ' With First in wins, a second connector cannot bind these Things.' : ''),
      { data, ...(policy === 'first-in-wins' ? { fix: FIX.lastInWins } : {}) },
    );
  }
  const what =
    `${ghosts.length} AlwaysOn session(s) of key ${keysOf(ghosts)} hold binds on ${count(ghosts)} Thing(s) without a connection` +
    (live.length ? ` (and ${live.length} connected session(s): a connector or bridge running now)` : '');
  if (confirm && (await confirm(sessions))) {
    const closed: string[] = [];
    for (const s of sessions) {
      try {
        await rest.service(WS, 'CloseEndpointSessions', { endpointId: s.endpointId });
        closed.push(s.endpointId);
      } catch (err) {
        const e = err as ThingWorxError;
        return item('ghost-sessions', 'failed', `${what}; closing ${s.endpointId} failed: ${e.message}`, {
          fix: e.fix ?? FIX.lastInWins,
          data: { ...data, closed },
        });
      }
    }
    return item('ghost-sessions', 'passed', `Closed ${closed.length} session(s) holding ${things} bind(s).`, {
      method: { id: 'closed-on-request' },
      data: { ...data, closed },
    });
  }
  if (policy === 'last-in-wins') {
    return item('ghost-sessions', 'warned', `${what}; with Last in wins they do not block a new connection.`, {
      fix: FIX.ghostSessions,
      data,
    });
  }
  return item('ghost-sessions', 'failed', `${what}; with First in wins they block the binds of a new connection.`, {
    fix: FIX.ghostSessions,
    data,
  });
}
