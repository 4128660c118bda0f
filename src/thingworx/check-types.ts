/** The data `tpx thingworx check` returns: one item per thing checked, in a fixed order. */
import type { Phrase } from '../errors.js';
import type { EndpointSession, LivenessOptions } from './check-sessions.js';

export type CheckStatus = 'passed' | 'failed' | 'warned' | 'skipped';

export const CHECK_ITEMS = {
  reachable: 'Host reachable',
  tls: 'TLS 1.2+ and certificate',
  'app-key': 'Application key accepted',
  'key-expiry': 'Application key expiry',
  'get-entity-list': 'GetEntityList allowed',
  'create-thing': 'CreateThing allowed',
  'create-thing-template': 'CreateThingTemplate allowed',
  template: 'Thing Template and properties',
  'alwayson-auth': 'AlwaysOn AUTH',
  'alwayson-bind': 'AlwaysOn BIND',
  'bind-policy': 'Bind protection policy',
  'ghost-sessions': 'Ghost sessions holding binds',
  connectors: 'Live connectors of this key',
  'hosted-connection': 'Actility-hosted connection',
} as const;

export type CheckId = keyof typeof CHECK_ITEMS;

export interface CheckItem {
  id: CheckId;
  title: string;
  status: CheckStatus;
  /** One line: what was found. */
  detail: Phrase;
  /** When not passed: what to do, in the words of the set-up guide (src/cli words the phrases). */
  fix?: Phrase;
  /** How it was decided: a permission service, a probe, a read… */
  method?: Phrase;
  data?: Record<string, unknown>;
}

/** An AlwaysOn session as QueryEndpointSessions lists it, said live or ghost (check-sessions.ts). */
export type GhostSession = EndpointSession;

/** An IoT Flow connection as the ThingPark connections API lists it (the fields the check reads). */
export interface HostedConnection {
  id: string;
  name: string;
  connectorId: string;
  active?: boolean;
  state?: string;
  configuration: Record<string, unknown>;
}

export interface ThingWorxCheckOptions {
  /** https://host:port */
  url: string;
  appKey: string;
  /** PEM contents of a CA to trust. */
  ca?: string | Buffer;
  insecure?: boolean;
  /** Thing Template to look for (default DEFAULT_TEMPLATE_NAME). */
  template?: string;
  /**
   * An administrator's application key, when the checked key is not one: reads the Bind Protection Policy and lists
   * (and, with confirmCloseGhosts, closes) the AlwaysOn sessions of the checked key.
   */
  adminKey?: string;
  /** Create and delete uniquely named probe entities (a Thing, a Thing Template) and bind the probe Thing. */
  writeProbe?: boolean;
  /**
   * Close ghost sessions (admin key only). Called with the sessions found; resolve true to close them.
   * Undefined: only list them.
   */
  confirmCloseGhosts?: (sessions: GhostSession[]) => Promise<boolean>;
  /** How live sessions are told from ghosts (check-sessions.ts; UNCONFIRMED on a real platform). */
  liveness?: Omit<LivenessOptions, 'now'>;
  /** WebSockets one connector opens (its pipeCount, default 1): more live sessions of the key = more connectors. */
  pipeCount?: number;
  /**
   * The ThingPark connections (when ThingPark settings are available): an active Actility-hosted ThingWorx
   * connection to the same host is the usual other connector. Undefined: not looked for.
   */
  hostedConnections?: () => Promise<HostedConnection[]>;
  /** Per request, ms (default 10 000). */
  timeoutMs?: number;
  /** Stop early (e.g. Ctrl-C): remaining items are skipped, probes are still cleaned up. */
  signal?: AbortSignal;
  /** Called as each item is decided (progress display). */
  onItem?: (item: CheckItem) => void;
  now?: () => Date;
}

export interface ThingWorxCheckReport {
  url: string;
  template: string;
  /** True when nothing failed. */
  ok: boolean;
  counts: Record<CheckStatus, number>;
  items: CheckItem[];
  user?: string;
}

export function item(
  id: CheckId,
  status: CheckStatus,
  detail: Phrase,
  extra: { fix?: Phrase; method?: Phrase; data?: Record<string, unknown> } = {},
): CheckItem {
  return {
    id,
    title: CHECK_ITEMS[id],
    status,
    detail,
    ...(status !== 'passed' && extra.fix ? { fix: extra.fix } : {}),
    ...(extra.method ? { method: extra.method } : {}),
    ...(extra.data ? { data: extra.data } : {}),
  };
}
