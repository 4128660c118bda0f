/** The data `tpx thingworx check` returns: one item per thing checked, in a fixed order. */
import type { Phrase } from '../errors.js';

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

export interface GhostSession {
  endpointId: string;
  appKeyName?: string;
  userName?: string;
  startDate?: string;
  lastUsedDate?: string;
  numberBoundThings?: number;
  /** Open WebSockets of the session: 0 for a ghost that only holds binds. */
  numberConnections?: number;
  boundThings?: string[];
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
