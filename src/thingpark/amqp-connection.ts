/**
 * IoT Flow's AMQP 0.9.1 connector (`actility-amqp-0.9.1-iot`) as the direct source of a tpx fleet: IoT Flow
 * publishes every uplink to the fleet's consistent-hash exchange with the DevEUI as routing key, so the fleet needs
 * no HTTP ingest. This file is the one place that knows the connector's field names and what is unconfirmed.
 *
 * Confirmed (actility/tpx-iot-flow-doc, docs/Connector/AMQP/README.md): connectorId `actility-amqp-0.9.1-iot`;
 * configuration `hostName` (host:port), `protocol` (`TCP` or `SSL`), `username`, `password`, `certificate` and
 * `privateKey` (SSL client certificate), `exchangeName`, `uplinkTopicPattern` (the routing key of an uplink; the
 * patterns take `{DevEUI}` placeholders), `downlinkTopicPattern`; plus the common parameters of every connector.
 *
 * UNCONFIRMED (no public source says):
 * - the virtual host: the connector documents no field for it, so a fleet fed by IoT Flow lives on the broker's
 *   default virtual host `/` (`virtualHost` below stays undefined until Actility names a field);
 * - whether IoT Flow declares the exchange (and with which type) or expects it to exist: tpx expects the bridges
 *   to have declared it as `x-consistent-hash`; if IoT Flow insists on a topic exchange, give it one of its own
 *   bound to the fleet's exchange (exchange-to-exchange binding `#`) and name that one;
 * - message properties (persistent delivery, content type) and whether IoT Flow waits for publisher confirms;
 * - the case of `{DevEUI}` in a routing key (ThingPark sends upper-case DevEUIs, as the tpx ingest publishes them);
 * - whether `username`/`password` are required, and whether `downlinkTopicPattern` is required when downlinks are
 *   disabled (the connector's own schema, GET /connectors, is checked before anything is sent).
 */
import { type AmqpUrlParts, amqpUrlParts } from '../util/amqp-url.js';

export const AMQP_CONNECTOR = {
  id: 'actility-amqp-0.9.1-iot',
  /** Configuration keys, by meaning. */
  keys: {
    hostName: 'hostName',
    protocol: 'protocol',
    username: 'username',
    password: 'password',
    exchange: 'exchangeName',
    uplinkPattern: 'uplinkTopicPattern',
    downlinkPattern: 'downlinkTopicPattern',
    /** UNCONFIRMED: no documented field; undefined means "only the default virtual host". */
    virtualHost: undefined as string | undefined,
  },
  /** `protocol` by URL scheme, and the default ports. */
  protocols: { 'amqp:': 'TCP', 'amqps:': 'SSL' } as Record<string, string>,
  /** The routing key the fleet hashes: the DevEUI alone, as the tpx ingest publishes it. */
  routingKeyPattern: '{DevEUI}',
  /** The placeholder a routing-key pattern must hold, so the exchange spreads by device. */
  devEuiPlaceholder: '{DevEUI}',
  /** Configuration keys the API masks as `*****` on read. */
  secretKeys: ['password', 'downlinkAsKey'] as readonly string[],
  /**
   * Defaults of a new connection: the bridges need the whole `DevEUI_uplink` document, and they send downlinks
   * through the LRC tunnel themselves.
   */
  defaults: { sendMetadata: false, sendRawDecodedFormat: false, downlinkEnabled: false } as Record<string, unknown>,
} as const;

export interface BrokerFields {
  hostName: string;
  protocol: string;
  username?: string;
  password?: string;
}

/**
 * The connection fields of a broker URL (`amqp://user:pass@host:5672`, `amqps://…:5671`), or the problem with it
 * (a sentence to put after the flag that gave it).
 */
export function brokerUrlFields(raw: string): { fields?: BrokerFields; problem?: string } {
  let u: AmqpUrlParts;
  try {
    u = amqpUrlParts(raw);
  } catch {
    return { problem: 'must be a URL like amqps://user:password@broker.example.com:5671' };
  }
  const protocol = AMQP_CONNECTOR.protocols[u.protocol];
  if (!protocol) return { problem: `must start with amqp:// or amqps:// (got ${u.protocol}//)` };
  if (!u.hostname) return { problem: 'names no host' };
  const vhost = u.vhost;
  if (vhost !== '' && vhost !== '/' && AMQP_CONNECTOR.keys.virtualHost === undefined) {
    return {
      problem: `names the virtual host "${vhost}", but IoT Flow's AMQP connector has no virtual host field (UNCONFIRMED): feed a fleet on the default virtual host /`,
    };
  }
  const fields: BrokerFields = { hostName: `${u.hostname}:${u.port}`, protocol };
  if (u.username) fields.username = u.username;
  if (u.password) fields.password = u.password;
  return { fields };
}

/** The problem of an exchange name, or undefined (AMQP 0.9.1: at most 255 bytes of letters, digits, - _ . :). */
export function exchangeProblem(v: string): string | undefined {
  if (v === '') return 'must not be empty';
  if (v.startsWith('amq.')) return 'must not be a built-in amq.* exchange (they do not hash by DevEUI)';
  return /^[A-Za-z0-9_.:-]{1,255}$/.test(v) ? undefined : 'must be letters, digits, "-", "_", "." or ":" (255 at most)';
}

/** The problem of an uplink routing-key pattern, or undefined. */
export function routingKeyPatternProblem(v: string): string | undefined {
  if (!v.includes(AMQP_CONNECTOR.devEuiPlaceholder)) {
    return `must contain ${AMQP_CONNECTOR.devEuiPlaceholder}, so that the fleet's exchange gives each device one queue`;
  }
  return v.length > 255 ? 'must be at most 255 characters' : undefined;
}
