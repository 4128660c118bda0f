/**
 * Every AlwaysOn session of a key as WSCommunicationsSubsystem lists it (QueryEndpointSessions and
 * GetBoundThingsForEndpoint, research/thingworx-rest.md §6.3): sessions holding binds and sessions holding none
 * (a connector whose binds were refused under "First in wins" holds none, and still competes), each said to be a
 * live connector or a ghost, and who holds a given Thing.
 *
 * Live or ghost (UNCONFIRMED on a real platform, hence configurable):
 * - basis 'connections' (default): a session reporting an open WebSocket (numberConnections > 0) is live, one
 *   reporting 0 is a ghost. A platform that does not report numberConnections falls back to 'last-used'.
 * - basis 'last-used': a session used (lastUsedDate, which excludes pings) within idleMs is live, else a ghost. A
 *   live connector that only pings looks idle this way: hence not the default.
 * - neither said: 'unknown'.
 * A connector opens pipeCount sessions (one per WebSocket), so one connector shows as pipeCount live sessions.
 */
import { ThingWorxError } from './errors.js';
import type { ThingWorxRest } from './rest.js';

const WS = 'Subsystems/WSCommunicationsSubsystem';

export type SessionState = 'live' | 'ghost' | 'unknown';
export type LivenessBasis = 'connections' | 'last-used';

export interface LivenessOptions {
  /** Which signal tells live from ghost (default 'connections'). */
  basis?: LivenessBasis;
  /** With 'last-used' (or as the fallback): unused for longer than this = ghost (default 10 minutes). */
  idleMs?: number;
  now?: Date;
}

export const DEFAULT_GHOST_IDLE_MS = 600_000;

export interface EndpointSession {
  endpointId: string;
  appKeyName?: string;
  userName?: string;
  /** ISO date-time. */
  startDate?: string;
  /** ISO date-time (pings excluded). */
  lastUsedDate?: string;
  numberBoundThings?: number;
  /** Open WebSockets of the session: 0 for a ghost that only holds binds. */
  numberConnections?: number;
  /** Remote address, when the platform reports one (the emulator does; a real platform: UNCONFIRMED). */
  remoteAddress?: string;
  boundThings?: string[];
  /** Live connector, ghost, or unknown (see the module comment). */
  state?: SessionState;
  /** What decided the state. */
  stateBy?: LivenessBasis | 'none';
}

function isoDate(v: unknown): string | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  const d = new Date(typeof v === 'number' || /^\d+$/.test(String(v)) ? Number(v) : String(v));
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString();
}

/** Live, ghost or unknown, by the basis asked for (see the module comment). */
export function sessionState(
  s: Pick<EndpointSession, 'numberConnections' | 'lastUsedDate'>,
  o: LivenessOptions = {},
): { state: SessionState; stateBy: LivenessBasis | 'none' } {
  const basis = o.basis ?? 'connections';
  if (basis === 'connections' && s.numberConnections !== undefined) {
    return { state: s.numberConnections > 0 ? 'live' : 'ghost', stateBy: 'connections' };
  }
  const used = s.lastUsedDate ? Date.parse(s.lastUsedDate) : Number.NaN;
  if (!Number.isNaN(used)) {
    const now = (o.now ?? new Date()).getTime();
    return { state: now - used <= (o.idleMs ?? DEFAULT_GHOST_IDLE_MS) ? 'live' : 'ghost', stateBy: 'last-used' };
  }
  return { state: 'unknown', stateBy: 'none' };
}

function toSession(r: Record<string, unknown>, o: LivenessOptions): EndpointSession {
  const s: EndpointSession = {
    endpointId: String(r.endpointId ?? ''),
    ...(r.appKeyName ? { appKeyName: String(r.appKeyName) } : {}),
    ...(r.userContext || r.userName ? { userName: String(r.userContext ?? r.userName) } : {}),
    ...(isoDate(r.startDate) ? { startDate: isoDate(r.startDate) } : {}),
    ...(isoDate(r.lastUsedDate) ? { lastUsedDate: isoDate(r.lastUsedDate) } : {}),
    numberBoundThings: Number(r.numberBoundThings ?? 0),
    ...(r.numberConnections !== undefined && r.numberConnections !== null && r.numberConnections !== ''
      ? { numberConnections: Number(r.numberConnections) }
      : {}),
  };
  const address = r.remoteAddress ?? r.clientAddress ?? r.address;
  if (typeof address === 'string' && address) s.remoteAddress = address;
  return { ...s, ...sessionState(s, o) };
}

/**
 * Every AlwaysOn session (with keyName, only that key's), with the Things each binds; undefined when the key may not
 * list them (QueryEndpointSessions is an administrator's service).
 */
export async function listSessions(
  rest: Pick<ThingWorxRest, 'service'>,
  o: LivenessOptions & { keyName?: string; boundThings?: boolean } = {},
): Promise<EndpointSession[] | undefined> {
  try {
    const res = await rest.service(WS, 'QueryEndpointSessions', {
      maxItems: 500,
      ...(o.keyName ? { appKeyName: o.keyName } : {}),
    });
    const out = res.rows
      .map((r) => toSession(r, o))
      .filter((s) => s.endpointId && !(o.keyName && s.appKeyName && s.appKeyName !== o.keyName));
    // The bound names of each session holding some, a few calls at a time (a platform may list hundreds).
    const todo = o.boundThings === false ? [] : out.filter((s) => s.numberBoundThings);
    const worker = async () => {
      for (let s = todo.shift(); s; s = todo.shift()) {
        const bound = await boundThings(rest, s.endpointId);
        if (bound) s.boundThings = bound;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return out;
  } catch (err) {
    if (err instanceof ThingWorxError) return undefined;
    throw err;
  }
}

export async function boundThings(
  rest: Pick<ThingWorxRest, 'service'>,
  endpointId: string,
): Promise<string[] | undefined> {
  return rest
    .service(WS, 'GetBoundThingsForEndpoint', { endpointId })
    .then((b) => b.rows.map((x) => String(x.name ?? x.result ?? '')))
    .catch(() => undefined);
}

/** The sessions as connectors: live ones of the key beyond one connector's pipes are competitors. */
export interface ConnectorCount {
  live: EndpointSession[];
  ghosts: EndpointSession[];
  unknown: EndpointSession[];
  /** Live connectors (live sessions / pipeCount, rounded up). */
  connectors: number;
}

export function countConnectors(sessions: EndpointSession[], pipeCount = 1): ConnectorCount {
  const live = sessions.filter((s) => s.state === 'live');
  return {
    live,
    ghosts: sessions.filter((s) => s.state === 'ghost'),
    unknown: sessions.filter((s) => s.state === 'unknown'),
    connectors: Math.ceil(live.length / Math.max(1, pipeCount)),
  };
}

/**
 * The live sessions to name as competitors: all but the incumbent connector's pipes (the sessions holding the most
 * binds, the oldest first on a tie), oldest first.
 */
export function competitors(count: ConnectorCount, pipeCount = 1): EndpointSession[] {
  const byStart = [...count.live].sort((a, b) => (a.startDate ?? '').localeCompare(b.startDate ?? ''));
  const holders = [...byStart].sort((a, b) => (b.numberBoundThings ?? 0) - (a.numberBoundThings ?? 0));
  const keep = new Set(holders.slice(0, Math.max(1, pipeCount)));
  return byStart.filter((s) => !keep.has(s));
}

export interface ThingHolder {
  thing: string;
  /** Bound to an AlwaysOn session (IsRemoteThingBound), undefined when the platform did not say. */
  bound?: boolean;
  /** The session holding it, when the sessions could be listed. */
  session?: EndpointSession;
  /** The sessions could not be listed (not an administrator's key). */
  sessionsListed: boolean;
  /** How the holder relates to the key: its only live connector, one of several, another key's, a ghost. */
  holder?: 'this-key' | 'this-key-competing' | 'other-key' | 'ghost' | 'unknown';
  /** Live connectors of the key (when listed). */
  connectorsOfKey?: number;
}

/** Whether the platform says the Thing is bound (EntityServices.IsRemoteThingBound); undefined when it does not. */
export async function isBound(rest: Pick<ThingWorxRest, 'service'>, name: string): Promise<boolean | undefined> {
  try {
    const r = await rest.service('Resources/EntityServices', 'IsRemoteThingBound', { name });
    const v = r.rows[0]?.result;
    return v === true || v === 'true' ? true : v === false || v === 'false' ? false : undefined;
  } catch (err) {
    if (err instanceof ThingWorxError) return undefined;
    throw err;
  }
}

export interface ThingHoldersOptions extends LivenessOptions {
  keyName?: string;
  pipeCount?: number;
  askBound?: boolean;
  /** The Things' isConnected (a RemoteThing's binding), used when IsRemoteThingBound does not answer. */
  isConnected?: Record<string, boolean | undefined>;
}

/** Who holds each Thing: one session listing for all of them. */
export async function thingHolders(
  rest: Pick<ThingWorxRest, 'service'>,
  admin: Pick<ThingWorxRest, 'service'> | undefined,
  things: string[],
  o: ThingHoldersOptions = {},
): Promise<ThingHolder[]> {
  // Every key's sessions: another key's connector may hold the Thing.
  const { keyName: _mine, isConnected, ...all } = o;
  const sessions = admin ? await listSessions(admin, all) : undefined;
  const byThing = new Map<string, EndpointSession>();
  for (const s of sessions ?? []) for (const t of s.boundThings ?? []) byThing.set(t, s);
  const ofKey = o.keyName && sessions ? sessions.filter((s) => s.appKeyName === o.keyName) : undefined;
  const liveOfKey = ofKey ? countConnectors(ofKey, o.pipeCount).connectors : undefined;
  const out: ThingHolder[] = [];
  for (const thing of things) {
    const session = byThing.get(thing);
    const h: ThingHolder = { thing, sessionsListed: sessions !== undefined };
    if (session) {
      h.bound = true;
      h.session = session;
      h.holder =
        session.state === 'ghost'
          ? 'ghost'
          : session.state === 'unknown'
            ? 'unknown'
            : !o.keyName || !session.appKeyName
              ? 'unknown'
              : session.appKeyName !== o.keyName
                ? 'other-key'
                : (liveOfKey ?? 0) > 1
                  ? 'this-key-competing'
                  : 'this-key';
    } else if (sessions) {
      h.bound = false;
    } else {
      const b = o.askBound !== false ? await isBound(rest, thing) : undefined;
      const c = isConnected?.[thing];
      if (b !== undefined) h.bound = b;
      else if (c !== undefined) h.bound = c;
    }
    if (liveOfKey !== undefined) h.connectorsOfKey = liveOfKey;
    out.push(h);
  }
  return out;
}

/**
 * The name of an application key, from its value (the sessions list key names): the key's own user lists its keys
 * (Users/<user>/GetApplicationKeyExpirationInfo). Undefined when the platform does not say.
 */
export async function keyNameOf(
  rest: Pick<ThingWorxRest, 'service' | 'getCurrentUser'>,
  appKey: string,
): Promise<string | undefined> {
  try {
    const user = await rest.getCurrentUser();
    const info = await rest.service(`Users/${user}`, 'GetApplicationKeyExpirationInfo', {
      expiredKeys: true,
      unexpiredKeys: true,
    });
    const row = info.rows.find((r) => r.key === appKey || r.keyId === appKey || r.id === appKey);
    return typeof row?.name === 'string' ? row.name : undefined;
  } catch (err) {
    if (err instanceof ThingWorxError) return undefined;
    throw err;
  }
}

/** Who holds each of `names`, as one connector key sees it (holdersOfKey). */
export type HolderLookup = (
  names: string[],
  o?: Pick<ThingHoldersOptions, 'askBound' | 'isConnected'>,
) => Promise<ThingHolder[]>;

/**
 * Who holds Things as the connector with key `appKey` sees them (thingHolders): the sessions `admin` lists (an
 * administrator's key; without one `own`, the key's own client, tries: an administrator's key may list them), and
 * the key's name asked with `own` (the sessions name keys, not values) the first time it is needed, again only
 * while it is unknown. A key whose name cannot be asked (a failed request) still gets its Things' holders, their
 * relation to this key unknown.
 */
export function holdersOfKey(o: {
  own: Pick<ThingWorxRest, 'service' | 'getCurrentUser'>;
  appKey: string | undefined;
  admin?: Pick<ThingWorxRest, 'service'> | undefined;
  pipeCount: number;
  liveness?: LivenessOptions;
}): HolderLookup {
  let keyName: string | undefined;
  return async (names, more = {}) => {
    if (!keyName && o.appKey) keyName = await keyNameOf(o.own, o.appKey).catch(() => undefined);
    return thingHolders(o.own, o.admin ?? o.own, names, {
      ...o.liveness,
      pipeCount: o.pipeCount,
      ...(keyName ? { keyName } : {}),
      ...more,
    });
  };
}

/** A short word for a table cell: bridge, shared, other, ghost, none, bound (holder unknown), or ''. */
export function holderWord(h: ThingHolder): string {
  if (h.bound === false) return 'none';
  switch (h.holder) {
    case 'this-key':
      return 'bridge';
    case 'this-key-competing':
      return 'shared';
    case 'other-key':
      return 'other';
    case 'ghost':
      return 'ghost';
    default:
      return h.bound ? 'bound' : '';
  }
}

/**
 * Who holds a Thing, in a few words for a log line (the bridge's `things.taken` holder): the kind of holder, its key,
 * its session and address. Undefined when no session was found holding it.
 */
export function holderText(h: ThingHolder): string | undefined {
  const s = h.session;
  if (!s) return undefined;
  const key = s.appKeyName ? `key ${s.appKeyName}` : 'an unnamed key';
  const who =
    h.holder === 'ghost'
      ? `a ghost session of ${key} (no connection)`
      : h.holder === 'other-key'
        ? `another key's connector (${key})`
        : h.holder === 'this-key' || h.holder === 'this-key-competing'
          ? `another connector of this key (${key})`
          : `a session of ${key}`;
  return `${who}: session ${s.endpointId}${s.remoteAddress ? ` from ${s.remoteAddress}` : ''}`;
}

/** The holder of several Things in a few words: the first one's, and how many other sessions hold the rest. */
export function holdersText(holders: ThingHolder[]): string | undefined {
  const texts = [...new Set(holders.map(holderText).filter((t): t is string => t !== undefined))];
  if (texts.length <= 1) return texts[0];
  return `${texts[0]}; and ${texts.length - 1} other session(s)`;
}
