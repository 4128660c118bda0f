/**
 * What `tpx thingworx setup` grants, and the platform names it uses to do so.
 *
 * The rights are exactly those of the Actility set-up guide ("Collecting Expected Information on ThingWorx"):
 * Things and ThingTemplates collections: Visibility for the Composer organization and Design Time Create and
 * Read for the user; EntityServices: Visibility for the Composer organization and Run Time ServiceInvoke on
 * CreateThing, CreateThingTemplate and GetEntityList for the user. Nothing more.
 *
 * Service names follow shared/research/thingworx-rest.md §5.3/§5.4/§6.2. Some are UNCONFIRMED on a live server
 * (marked below); every one can be overridden through SetupNames, and the Bind Protection Policy table, field
 * and value through flags of `tpx thingworx setup`.
 */
import { UsageError } from '../errors.js';

export interface SetupNames {
  /** Organization given visibility (the guide: Composer). */
  organization: string;
  /** Collections given visibility + design-time rights. `Things` vs `Thing` is UNCONFIRMED (research §5.3). */
  collections: string[];
  /** Design-time rights on the collections. */
  designTime: string[];
  /** EntityServices services the user may invoke. */
  services: string[];
  /** Entity paths. */
  entityServices: string;
  collectionFunctions: string;
  currentSession: string;
  wsSubsystem: string;
}

export const DEFAULT_SETUP_NAMES: SetupNames = {
  organization: 'Composer',
  collections: ['Things', 'ThingTemplates'],
  designTime: ['Create', 'Read'],
  services: ['CreateThing', 'CreateThingTemplate', 'GetEntityList'],
  entityServices: 'Resources/EntityServices',
  collectionFunctions: 'Resources/CollectionFunctions',
  currentSession: 'Resources/CurrentSessionInfo',
  wsSubsystem: 'Subsystems/WSCommunicationsSubsystem',
};

export const DEFAULT_CONNECTOR_USER = 'tpx-connector';
export const DEFAULT_KEY_EXPIRY = '1y';

/** Default application key name for a user. */
export function defaultKeyName(user: string): string {
  return `${user}-key`;
}

const DURATION = /^(\d+)\s*(h|d|w|m|mo|y)$/i;
const UNIT_MS: Record<string, number> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/**
 * Parses --key-expiry: a duration from now (12h, 90d, 8w, 6mo, 1y; "m" is months) or a date (2027-01-31 or
 * ISO date-time). The result must lie in the future and at most 10 years ahead; "never"/0 are refused (a key
 * with no expiry is what the guide warns against).
 */
export function parseKeyExpiry(text: string, now: Date = new Date()): Date {
  const t = text.trim();
  const bad = (why: string) =>
    new UsageError(
      `Invalid --key-expiry "${text}": ${why}.`,
      'Give a duration such as 90d, 6mo or 1y, or a future date such as 2027-12-31.',
    );
  if (/^(never|none|0+[a-z]*)$/i.test(t)) throw bad('a key must expire');
  let out: Date;
  const m = DURATION.exec(t);
  if (m) {
    const n = Number(m[1]);
    const unit = m[2]!.toLowerCase();
    out = new Date(now.getTime());
    if (unit === 'y') out.setUTCFullYear(out.getUTCFullYear() + n);
    else if (unit === 'm' || unit === 'mo') out.setUTCMonth(out.getUTCMonth() + n);
    else out = new Date(now.getTime() + n * UNIT_MS[unit]!);
  } else if (/^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    out = new Date(/^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t}T00:00:00Z` : t);
    if (Number.isNaN(out.getTime())) throw bad('not a date');
  } else {
    throw bad('not a duration or a date');
  }
  if (out.getTime() <= now.getTime()) throw bad('it is not in the future');
  if (out.getTime() > now.getTime() + 10 * 366 * 86_400_000) throw bad('more than 10 years ahead');
  return out;
}

/** How the Bind Protection Policy is stored (UNCONFIRMED on a live server: research §6.2). */
export interface BindPolicyNames {
  /** Configuration table; undefined = find the table holding a "…in wins" value. */
  table?: string;
  /** Field; undefined = the field whose name mentions bind protection or whose value is "…in wins". */
  field?: string;
  /** Value to write; undefined = the current value's spelling with "first" turned into "last". */
  value?: string;
}

export type BindPolicy = 'last-in-wins' | 'first-in-wins';

export function parseBindPolicy(text: string): BindPolicy {
  const t = text
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, '-');
  if (t === 'last-in-wins' || t === 'lastinwins') return 'last-in-wins';
  if (t === 'first-in-wins' || t === 'firstinwins') return 'first-in-wins';
  throw new UsageError(`Invalid --bind-policy "${text}".`, 'Use --bind-policy last-in-wins (or first-in-wins).');
}
