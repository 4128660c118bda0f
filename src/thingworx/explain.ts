/**
 * `tpx explain`: recognises an error text (from the ThingPark connector's events, the ThingWorx logs, or tpx
 * itself) and says its cause and fix. The texts are those of the Actility reference document
 * (shared/reference/actility-thingworx-connector-doc.txt) and tpx's TPX_* codes.
 */
import type { Phrase } from '../errors.js';
import { DEVEUI } from '../util/hex.js';
import { classifyThingWorxText } from './errors.js';
import { FIX } from './fixes.js';
import { DEFAULT_TEMPLATE_NAME } from './template-name.js';

export interface Explanation {
  /** Stable id of the recognised problem. */
  id: string;
  title: string;
  cause: string;
  fix: Phrase;
  details?: Record<string, unknown>;
}

export interface ExplainResult {
  recognised: boolean;
  explanations: Explanation[];
  /** What to do when nothing was recognised (a phrase the CLI words). */
  hint?: Phrase;
}

function bindFailure(text: string): Explanation | undefined {
  if (!/Binding failed|V1BindMessage|Could not bind things|TPX_BIND_REJECTED|refused to bind/i.test(text))
    return undefined;
  const list = /names=\[([^\]]*)\]/.exec(text)?.[1];
  const names = list
    ? list
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
  const devices = names.filter((n) => DEVEUI.test(n));
  const others = names.filter((n) => !DEVEUI.test(n));
  const connection = /connection THINGWORX with id (\d+)/i.exec(text)?.[1];
  const details: Record<string, unknown> = {};
  if (connection) details.connectionId = Number(connection);
  if (names.length)
    Object.assign(details, { names: names.length, devices: devices.length, notDevices: others.slice(0, 20) });
  const missing = /does not know as Remote Things/i.test(text);
  let cause = missing
    ? "ThingWorx refused to bind Things it does not know as Remote Things: they are missing, not based on RemoteThing, or not visible to the key's user. This happens under either Bind Protection Policy."
    : 'ThingWorx refused to bind the Things. Under "First in wins" (the default) another AlwaysOn session still holds them: a second connector using the same Things (often an active Actility-hosted ThingWorx connection while tpx\'s bridge runs, or two bridges), or a "connection ghost" of an earlier connection. Under "Last in wins" a holder never blocks a bind: a refusal there means a Thing is missing, not based on RemoteThing, or (with "Enable Visibility Permission Check") not visible to the key\'s user.';
  if (others.length > 0) {
    cause += ` The BIND listed ${names.length} names, ${others.length} of them not devices (e.g. ${others.slice(0, 3).join(', ')}): the key's user sees system Things too; a dedicated user sees only its own.`;
  }
  return {
    id: 'bind-failed',
    title: 'Binding failed (V1BindMessage)',
    cause,
    fix: missing
      ? "Create these Things from a template based on RemoteThing (the bridge creates them when its user may), and give the key's user Visibility on them."
      : [
          { id: 'find-holder' },
          'Stop the connector that should not run (one connector per key and Things).',
          FIX.lastInWins,
          { id: 'close-ghost-sessions' },
          'If it persists: every bound name needs a Thing based on RemoteThing, and with "Enable Visibility Permission Check" on, Visibility for the key\'s user.',
        ],
    details,
  };
}

function entityServicesDispatch(text: string): Explanation | undefined {
  const m =
    /Unable to dispatch \[\s*uri\s*=\s*([^\]\s]+)\s*\]\s*:\s*Entity (\S+) does not exist or is not yet associated with a Thing/i.exec(
      text,
    );
  if (!m) return undefined;
  const uri = m[1]!;
  const entity = m[2]!;
  const service = /\/Services\/(\w+)/.exec(uri)?.[1];
  return {
    id: 'entity-not-visible',
    title: `${entity} not visible to the application key's user`,
    cause: `The user of the application key has no rights on ${entity} (it has no Visibility, so for it the entity "does not exist")${service ? ` and may not execute ${service}` : ''}: an administration-rights problem.`,
    fix:
      entity === 'EntityServices'
        ? `${FIX.entityServicesVisibility} Then ${FIX.entityServicesRunTime(service ? [service, ...['CreateThing', 'CreateThingTemplate', 'GetEntityList'].filter((x) => x !== service)] : undefined).replace(/^In/, 'in')}`
        : FIX.collectionsVisibility,
    details: { uri, entity, ...(service ? { service } : {}) },
  };
}

interface Rule {
  id: string;
  title: string;
  test: RegExp;
  cause: string;
  fix: Phrase;
}

const RULES: Rule[] = [
  {
    id: 'bound-elsewhere',
    title: 'Thing not bound on this connection',
    test: /is not bound on this connection|closedByAdmin|session closed by an administrator|reason[=: ]+"?takeover/i,
    cause:
      'The connection no longer holds the Thing: another connector took its bind over (Bind Protection Policy "Last in wins"), an administrator closed the session, or it unbound. Two connectors on one key take the binds from each other in turn.',
    fix: [{ id: 'find-holder' }, 'Keep one connector per key and Things: stop the other one.'],
  },
  {
    id: 'tls-untrusted',
    title: 'TLS certificate not trusted',
    test: /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED|unable to verify the first certificate|self[- ]signed certificate|UNABLE_TO_GET_ISSUER_CERT|certificate (?:is )?not trusted|PKIX path building failed/i,
    cause: 'The ThingWorx server certificate is not signed by a CA tpx (or the connector) trusts.',
    fix: FIX.certificate,
  },
  {
    id: 'tls-expired',
    title: 'TLS certificate expired',
    test: /CERT_HAS_EXPIRED|certificate has expired|CERT_NOT_YET_VALID/i,
    cause: 'The ThingWorx server certificate is expired (or not yet valid).',
    fix: FIX.certificateExpired,
  },
  {
    id: 'tls-hostname',
    title: 'TLS certificate for another host name',
    test: /ERR_TLS_CERT_ALTNAME_INVALID|Hostname\/IP does not match certificate|No subject alternative/i,
    cause: 'The certificate does not name the host in the URL.',
    fix: { id: 'tls-hostname' },
  },
  {
    id: 'tls-missing',
    title: 'No TLS (plain HTTP)',
    test: /wrong version number|TPX_TWX_PLAIN_HTTP|plain HTTP|packet length too long|needs TLS \(wss/i,
    cause: 'The platform answered without TLS: the connector only uses WebSocket Secure (WSS) over TLS v1.2.',
    fix: FIX.tls,
  },
  {
    id: 'tls-version',
    title: 'TLS version too old',
    test: /protocol version|tlsv1 alert|unsupported protocol|TLSv1(?:\.[01])? only|no protocols available/i,
    cause: 'The platform offers only TLS older than 1.2; the connector needs TLS v1.2 or newer.',
    fix: FIX.tls,
  },
  {
    id: 'fleet-broker-unreachable',
    title: 'Fleet broker not reachable',
    test: /TPX_FLEET_UNREACHABLE|fleet broker at \S+ did not answer|Cannot reach the fleet broker/i,
    cause:
      'The RabbitMQ broker of the fleet did not answer: wrong host or port in the broker URL, RabbitMQ stopped, or a firewall.',
    fix: { id: 'fleet-broker', auth: false },
  },
  {
    id: 'fleet-broker-auth',
    title: 'Fleet broker refused the login',
    test: /TPX_FLEET_AUTH|fleet broker at \S+ refused/i,
    cause:
      'RabbitMQ refused the user, its password, or its access to the virtual host named in the broker URL (rabbitmqctl set_permissions).',
    fix: { id: 'fleet-broker', auth: true },
  },
  {
    id: 'unreachable',
    title: 'ThingWorx not reachable',
    test: /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|TPX_TWX_UNREACHABLE|TPX_ALWAYSON_CONNECT|Connection refused|UnknownHostException/i,
    cause: 'No connection to the ThingWorx host:port (wrong host name or port, platform down, or a firewall).',
    fix: FIX.unreachable,
  },
  {
    id: 'app-key',
    title: 'Application key rejected',
    test: /TPX_AUTH_FAILED|TPX_TWX_UNAUTHORIZED|(?:HTTP|status|code)\s*401\b|\b401 Unauthorized|\(401\)|Unauthorized|Invalid Application Key|application key (?:is )?(?:expired|invalid|not found)|Authentication failed|(?:refused|rejected) the application key/i,
    cause:
      'ThingWorx did not accept the application key: it is wrong, its Expiration Date has passed, or its user is disabled.',
    fix: FIX.appKey,
  },
  {
    id: 'template-missing',
    title: 'Thing Template missing',
    test: /actilityThingTemplate\w*.*(?:not found|does not exist)|(?:Entity Not Found|not found).*actilityThingTemplate|TPX_TEMPLATE_MISSING|thingTemplateName.*(?:not found|invalid)/i,
    cause:
      "The Thing Template named in the connection (thingTemplateName) is missing or not visible to the key's user.",
    fix: [FIX.template(DEFAULT_TEMPLATE_NAME), `If it exists, ${FIX.collectionsVisibility.replace(/^In/, 'in')}`],
  },
  {
    id: 'pipe-count',
    title: 'pipeCount out of range',
    test: /pipeCount|pipe count|--pipe-count/i,
    cause:
      'pipeCount is the number of web sockets the connection opens; it is limited to 255 (1 suffices in most applications).',
    fix: { id: 'pipe-count' },
  },
  {
    id: 'device-limit',
    title: 'Device limit',
    test: /10K devices|10 ?000 devices|TPX_DEVICE_LIMIT|max(?:imum)? devices/i,
    cause: 'The ThingWorx connector is limited to 10K devices.',
    fix: { id: 'device-limit' },
  },
];

/** Explains an error text; several problems may be recognised in one text (e.g. a whole log excerpt). */
/** tpx's own messages (from ThingWorxError), in case the user pastes tpx output rather than the platform's. */
function tpxMessage(text: string): Explanation | undefined {
  const svc = /may not execute (\w+) on (\w+)/.exec(text);
  if (svc) {
    return {
      id: 'service-denied',
      title: `${svc[1]} not allowed`,
      cause: `The application key's user may not execute ${svc[1]} on ${svc[2]}.`,
      fix: svc[2] === 'EntityServices' ? FIX.entityServicesRunTime([svc[1]!]) : FIX.check,
      details: { service: svc[1], entity: svc[2] },
    };
  }
  if (/may not (?:Create|Read|Update|Delete) (?:Things|Thing Templates)|lacks design-time Create/i.test(text)) {
    return {
      id: 'design-time-denied',
      title: 'Design-time permission missing',
      cause:
        "The application key's user lacks design-time Create (or Read) on the Things / Thing Templates collections.",
      fix: FIX.collectionsDesignTime,
    };
  }
  if (/user cannot see EntityServices|EntityServices is not visible/i.test(text)) {
    return {
      id: 'entity-not-visible',
      title: "EntityServices not visible to the application key's user",
      cause: 'EntityServices has no Visibility for the key\'s user, so for it the entity "does not exist".',
      fix: FIX.entityServicesVisibility,
    };
  }
  return undefined;
}

/** A JSON error document of tpx pasted whole: {"error":{"code":…,"message":…,"fix":…}}. */
function tpxJson(text: string): { message: string; explanation?: Explanation } | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const doc = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; fix?: unknown } };
    const e = doc.error;
    if (!e || typeof e.code !== 'string' || typeof e.message !== 'string') return undefined;
    return {
      message: `${e.code} ${e.message}`,
      ...(typeof e.fix === 'string' && e.fix
        ? { explanation: { id: e.code.toLowerCase(), title: `tpx error ${e.code}`, cause: e.message, fix: e.fix } }
        : {}),
    };
  } catch {
    return undefined;
  }
}

const CLASSIFIED_TITLES: Record<string, string> = {
  TPX_TWX_APPKEY_IN_URL: 'Application key in the URL',
  TPX_TWX_DESIGN_TIME_DENIED: 'Design-time permission missing',
  TPX_TWX_NO_VISIBILITY: "Entity not visible to the application key's user",
  TPX_TWX_SERVICE_DENIED: 'Service not allowed',
  TPX_TWX_THING_NOT_BOUND: 'Thing is not bound: no connector holds it',
  TPX_TWX_EDGE_NO_ANSWER: 'The session holding the Thing does not answer',
};

function classifiedTitle(code: string, details: Record<string, unknown> | undefined): string {
  const service = details?.service;
  if (code === 'TPX_TWX_SERVICE_DENIED' && typeof service === 'string') return `${service} not allowed`;
  return CLASSIFIED_TITLES[code] ?? 'ThingWorx refused the request';
}

export function explainText(input: string): ExplainResult {
  const json = tpxJson(input.trim());
  const text = json ? json.message : input.trim();
  const out: Explanation[] = [];
  const seen = new Set<string>();
  const push = (e: Explanation | undefined) => {
    if (e && !seen.has(e.id)) {
      seen.add(e.id);
      out.push(e);
    }
  };
  push(bindFailure(text));
  push(entityServicesDispatch(text));
  push(tpxMessage(text));
  if (!seen.has('entity-not-visible')) {
    const c = classifyThingWorxText(text);
    const template = RULES.find((r) => r.id === 'template-missing')?.test.test(text);
    if (c && c.code !== 'TPX_TWX_UNAUTHORIZED' && !(c.code === 'TPX_TWX_NOT_FOUND' && template)) {
      push({
        id: c.code
          .replace(/^TPX_TWX_/, '')
          .toLowerCase()
          .replace(/_/g, '-'),
        // A short title, so that the cause line says more than the title (not the same sentence twice).
        title: classifiedTitle(c.code, c.details),
        cause: c.message,
        fix: c.fix,
        details: c.details,
      });
    }
  }
  for (const r of RULES) {
    if (r.test.test(text)) push({ id: r.id, title: r.title, cause: r.cause, fix: r.fix });
  }
  if (out.length === 0 && json?.explanation) out.push(json.explanation);
  if (out.length === 0) {
    return {
      recognised: false,
      explanations: [],
      hint: { id: 'thingworx-check' },
    };
  }
  return { recognised: true, explanations: out };
}
