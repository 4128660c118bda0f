/**
 * ThingWorx failures as typed errors. The platform answers errors with plain text (thingworx-rest.md §1.6),
 * e.g. "Not authorized for ServiceInvoke on GetEntityList in EntityServices" or "Entity Not Found : [X]";
 * classifyThingWorxText() recognises those texts and gives the fix of the set-up guide.
 * Also used by `tpx explain` on texts the user pastes.
 */
import { type Phrase, TpxError } from '../errors.js';
import { FIX } from './fixes.js';

export type ThingWorxErrorCode =
  | 'TPX_TWX_UNAUTHORIZED'
  | 'TPX_TWX_APPKEY_IN_URL'
  | 'TPX_TWX_SERVICE_DENIED'
  | 'TPX_TWX_DESIGN_TIME_DENIED'
  | 'TPX_TWX_NO_VISIBILITY'
  | 'TPX_TWX_NOT_FOUND'
  | 'TPX_TWX_ALREADY_EXISTS'
  | 'TPX_TWX_SERVICE_FAILED'
  | 'TPX_TWX_HTTP'
  | 'TPX_TWX_UNREACHABLE'
  | 'TPX_TWX_TIMEOUT'
  | 'TPX_TWX_TLS'
  | 'TPX_TWX_PLAIN_HTTP'
  | 'TPX_TWX_BAD_RESPONSE'
  | 'TPX_TWX_THING_NOT_BOUND'
  | 'TPX_TWX_EDGE_NO_ANSWER';

export interface ThingWorxErrorInit {
  /** HTTP status, 0 when no response came. */
  status: number;
  /** The platform's own text (first 500 characters), or the network error message. */
  platformText: string;
  /** What was called, e.g. "POST Resources/EntityServices/Services/GetEntityList". */
  request?: string;
  fix?: Phrase;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class ThingWorxError extends TpxError {
  readonly status: number;
  readonly platformText: string;
  readonly request: string | undefined;
  declare readonly code: ThingWorxErrorCode;

  constructor(code: ThingWorxErrorCode, message: string, init: ThingWorxErrorInit) {
    super(code, message, {
      fix: init.fix,
      cause: init.cause,
      details: { status: init.status, platformText: init.platformText, request: init.request, ...init.details },
    });
    this.status = init.status;
    this.platformText = init.platformText;
    this.request = init.request;
  }
}

export interface Classified {
  code: ThingWorxErrorCode;
  /** One line: what failed. */
  message: string;
  fix: Phrase;
  /** Names pulled from the text (service, entity, permission). */
  details: Record<string, string>;
}

const NOT_AUTHORIZED = /Not authorized for (\w+)(?: on (\S+?))?(?: in (\S+?))?\s*(?:$|[.\n\]])/i;
const NOT_VISIBLE = /Entity (\S+) does not exist or is not yet associated with a Thing/i;
const ENTITY_NOT_FOUND = /Entity Not Found\s*:\s*\[?([^\]\n]*)\]?/i;
const DOES_NOT_EXIST = /(?:Thing|ThingTemplate|Template|Entity)\s*\[?([\w.\-:]+)\]?\s+(?:does not exist|not found)/i;
const ALREADY_EXISTS = /already exists/i;
const APPKEY_URL = /ApplicationKey Is Not Allowed As A URL Parameter/i;
/** A write of a remote property (or a request) for a Thing no AlwaysOn session binds: "… Thing is not bound". */
const NOT_BOUND =
  /(?:property \[(\w+)\] on ([\w.\-:]+)\s*:\s*)?Thing (?:\[?([\w.\-:]+)\]? )?is not bound(?! on this connection)/i;
/** The platform forwarded a write to the session holding the Thing, and the edge did not answer (a ghost). */
const EDGE_SILENT = /Unable to write remote property \[(\w+)\] on ([\w.\-:]+)\s*:\s*the edge did not answer/i;
const DESIGN_TIME = new Set(['create', 'read', 'update', 'delete']);
const COLLECTIONS: Record<string, string> = { things: 'Things', thingtemplates: 'Thing Templates' };

/**
 * Recognises a ThingWorx error text (optionally with its HTTP status). Returns undefined when neither the text
 * nor the status says anything tpx knows.
 */
export function classifyThingWorxText(text: string, status = 0): Classified | undefined {
  const t = text.trim();
  for (const recognise of RECOGNISERS) {
    const c = recognise(t, status);
    if (c) return c;
  }
  return undefined;
}

type Recogniser = (t: string, status: number) => Classified | undefined;

const classified = (code: ThingWorxErrorCode, message: string, fix: Phrase): Classified => ({
  code,
  message,
  fix,
  details: {},
});

/** The application key given as a URL parameter. */
function appKeyInUrl(t: string): Classified | undefined {
  if (!APPKEY_URL.test(t)) return undefined;
  return classified(
    'TPX_TWX_APPKEY_IN_URL',
    'ThingWorx refuses an application key given as a URL parameter.',
    FIX.urlAppKey,
  );
}

/** A write (or request) for a Thing no AlwaysOn session binds. */
function notBound(t: string): Classified | undefined {
  const nb = NOT_BOUND.exec(t);
  if (!nb) return undefined;
  const thing = nb[2] ?? nb[3] ?? '';
  const property = nb[1];
  return {
    code: 'TPX_TWX_THING_NOT_BOUND',
    message: `No connector holds ${thing ? `Thing ${thing}` : 'the Thing'}: no AlwaysOn session binds it, so ThingWorx cannot forward ${property ? `the write of ${property}` : 'the request'}.`,
    fix: { id: 'thing-not-bound', thing },
    details: { ...(thing ? { thing } : {}), ...(property ? { property } : {}) },
  };
}

/** The platform forwarded a write to the session holding the Thing, which did not answer. */
function edgeSilent(t: string): Classified | undefined {
  const silent = EDGE_SILENT.exec(t);
  if (!silent) return undefined;
  return {
    code: 'TPX_TWX_EDGE_NO_ANSWER',
    message: `The session holding Thing ${silent[2]} did not answer the write of ${silent[1]}: a ghost session (no connection), or a connector that hangs.`,
    fix: { id: 'thing-holder-silent', thing: silent[2]! },
    details: { thing: silent[2]!, property: silent[1]! },
  };
}

/** An entity the key's user cannot see (no visibility, or no right on it). */
function notVisible(t: string): Classified | undefined {
  const vis = NOT_VISIBLE.exec(t);
  if (vis) {
    const entity = vis[1]!;
    const uri = /uri\s*=\s*([^\]\s]+)/.exec(t)?.[1];
    return {
      code: 'TPX_TWX_NO_VISIBILITY',
      message: `The application key's user cannot see ${entity}${uri ? ` (${uri})` : ''}: no visibility or no right on it.`,
      fix: entity === 'EntityServices' ? FIX.entityServicesVisibility : visibilityFix(entity),
      details: { entity, ...(uri ? { uri } : {}) },
    };
  }
  return undefined;
}

/** A design-time or run-time permission missing. */
function notAuthorized(t: string): Classified | undefined {
  const na = NOT_AUTHORIZED.exec(t);
  if (na) {
    const permission = na[1]!;
    const target = na[2] ?? na[3] ?? '';
    const entity = na[3] ?? target;
    if (DESIGN_TIME.has(permission.toLowerCase())) {
      const collection = COLLECTIONS[entity.toLowerCase()] ?? entity;
      return {
        code: 'TPX_TWX_DESIGN_TIME_DENIED',
        message: `The application key's user may not ${permission} ${collection} (design-time permission).`,
        fix: FIX.collectionsDesignTime,
        details: { permission, collection },
      };
    }
    const service = target;
    return {
      code: 'TPX_TWX_SERVICE_DENIED',
      message: `The application key's user may not execute ${service} on ${entity} (${permission}).`,
      fix: entity === 'EntityServices' ? FIX.entityServicesRunTime([service]) : runTimeFix(entity, service),
      details: { permission, service, entity },
    };
  }
  return undefined;
}

/** The application key rejected (401, or said so). */
function unauthorized(t: string, status: number): Classified | undefined {
  if (
    status === 401 ||
    /\b(?:invalid|expired|unknown) (?:application ?key|app ?key)\b|Authentication failed/i.test(t)
  ) {
    const message = 'ThingWorx rejected the application key (unknown, expired, or its user disabled).';
    return classified('TPX_TWX_UNAUTHORIZED', message, FIX.appKey);
  }
  return undefined;
}

/** An entity that exists already. */
function alreadyExists(t: string): Classified | undefined {
  if (!ALREADY_EXISTS.test(t)) return undefined;
  return classified(
    'TPX_TWX_ALREADY_EXISTS',
    `ThingWorx says the entity already exists: ${firstLine(t)}`,
    'If you cannot see it, give the user Visibility on it, or pick another name; after a failed create, a restart of ThingWorx removes a "ghost" entity.',
  );
}

/** A Thing Template that does not exist (or cannot be seen). */
function invalidTemplate(t: string): Classified | undefined {
  const tt = /Invalid (base )?Thing Template \[([^\]]*)\]/i.exec(t);
  if (tt) {
    return {
      code: 'TPX_TWX_NOT_FOUND',
      message: `Thing Template ${tt[2]} does not exist or is not visible to the application key's user.`,
      fix: `Check the name; if it exists, ${FIX.collectionsVisibility.replace(/^In/, 'in')}`,
      details: { entity: tt[2]!, ...(tt[1] ? { base: 'true' } : {}) },
    };
  }
  return undefined;
}

/** An entity not found (by the text, or a 404). */
function notFound(t: string, status: number): Classified | undefined {
  const nf = ENTITY_NOT_FOUND.exec(t) ?? DOES_NOT_EXIST.exec(t);
  if (nf || status === 404) {
    const entity = nf?.[1]?.trim() ?? '';
    return {
      code: 'TPX_TWX_NOT_FOUND',
      message: entity ? `ThingWorx entity not found: ${entity}.` : `ThingWorx found nothing there: ${firstLine(t)}`,
      fix: "Check the name (names are case-sensitive) and that the application key's user has Visibility on it.",
      details: entity ? { entity } : {},
    };
  }
  return undefined;
}

/** A service that ran and failed. */
function serviceFailed(t: string): Classified | undefined {
  const invoke = /Unable to Invoke Service (\S+) on (\S+)\s*:\s*(.*)/i.exec(t);
  if (invoke) {
    return {
      code: 'TPX_TWX_SERVICE_FAILED',
      message: `ThingWorx service ${invoke[1]} on ${invoke[2]} failed: ${invoke[3]}`,
      fix: ['See the ThingWorx Application log for the cause;', FIX.check],
      details: { service: invoke[1]!, entity: invoke[2]! },
    };
  }
  return undefined;
}

/** A 403 without a text saying more. */
function forbidden(t: string, status: number): Classified | undefined {
  if (status !== 403) return undefined;
  return classified(
    'TPX_TWX_HTTP',
    `ThingWorx refused the request (403): ${firstLine(t) || 'no text'}`,
    "Check the user's permissions (Permissions → Access Reports); tpx always sends Content-Type: application/json.",
  );
}

/** In order: the first that recognises the text classifies it. */
const RECOGNISERS: Recogniser[] = [
  appKeyInUrl,
  notBound,
  edgeSilent,
  notVisible,
  notAuthorized,
  unauthorized,
  alreadyExists,
  invalidTemplate,
  notFound,
  serviceFailed,
  forbidden,
];

function visibilityFix(entity: string): string {
  return `In Composer → Permissions → Entities, select ${entity}, Edit Permissions; on the Visibility tab select the Composer organization and Save.`;
}

function runTimeFix(entity: string, service: string): string {
  return `In Composer → Permissions → Entities → ${entity} → Edit Permissions → Run Time, allow the user to execute ${service}, then Save.`;
}

function firstLine(t: string): string {
  return t.split('\n')[0]!.slice(0, 200);
}

/** Builds the error for an HTTP answer that is not 2xx. */
export function httpError(status: number, body: string, request: string): ThingWorxError {
  const text = looksLikeHtml(body) ? htmlText(body) : body.trim().slice(0, 500);
  const c = classifyThingWorxText(text, status);
  if (c)
    return new ThingWorxError(c.code, c.message, {
      status,
      platformText: text,
      request,
      fix: c.fix,
      details: c.details,
    });
  const server = status >= 500;
  return new ThingWorxError(
    'TPX_TWX_HTTP',
    `ThingWorx answered ${status} to ${request}${text ? `: ${firstLine(text)}` : ''}`,
    {
      status,
      platformText: text,
      request,
      fix: server
        ? 'ThingWorx had an internal error: see its Application log, and retry.'
        : 'Check the URL (https://host:port, without /Thingworx) and the ThingWorx version.',
    },
  );
}

function looksLikeHtml(body: string): boolean {
  return /^\s*<(?:!doctype|html)/i.test(body);
}

/** The visible text of a Tomcat HTML error page (its title or first paragraph). */
function htmlText(body: string): string {
  const m = /<title>([^<]*)<\/title>/i.exec(body) ?? /<p>([^<]*)<\/p>/i.exec(body);
  return (m?.[1] ?? '').trim().slice(0, 300);
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
]);

/** Builds the error for a request that got no HTTP answer (network, TLS, timeout). */
export function networkError(err: unknown, url: string, request: string): ThingWorxError {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const inner = e?.cause && typeof e.cause === 'object' ? e.cause : e;
  const code = String(inner?.code ?? e?.code ?? '');
  const text = String(inner?.message ?? e?.message ?? err);
  const init = { status: 0, platformText: text, request, cause: err, details: { errno: code } };
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return new ThingWorxError('TPX_TWX_TLS', `The ThingWorx certificate of ${url} is not valid now (${code}).`, {
      ...init,
      fix: FIX.certificateExpired,
    });
  }
  if (TLS_CODES.has(code)) {
    return new ThingWorxError('TPX_TWX_TLS', `The ThingWorx certificate of ${url} is not trusted (${code}).`, {
      ...init,
      fix: FIX.certificate,
    });
  }
  if (/wrong version number|WRONG_VERSION_NUMBER|packet length too long/i.test(`${code} ${text}`)) {
    return new ThingWorxError(
      'TPX_TWX_PLAIN_HTTP',
      `${url} does not speak TLS (plain HTTP answered the TLS handshake).`,
      {
        ...init,
        fix: FIX.tls,
      },
    );
  }
  if (/protocol version|UNSUPPORTED_PROTOCOL|no protocols available|ERR_SSL/i.test(`${code} ${text}`)) {
    return new ThingWorxError(
      'TPX_TWX_TLS',
      `The TLS handshake with ${url} failed (${code || text}): TLS 1.2 or newer is required.`,
      {
        ...init,
        fix: FIX.tls,
      },
    );
  }
  if (/Timeout|ETIMEDOUT|AbortError|aborted/i.test(`${code} ${e?.name} ${text}`)) {
    return new ThingWorxError('TPX_TWX_TIMEOUT', `ThingWorx at ${url} did not answer in time (${request}).`, {
      ...init,
      fix: FIX.unreachable,
    });
  }
  return new ThingWorxError('TPX_TWX_UNREACHABLE', `Cannot reach ThingWorx at ${url} (${code || text}).`, {
    ...init,
    fix: FIX.unreachable,
  });
}
