/**
 * Every setting tpx knows, with its profile key, environment variable and flag.
 * Resolution order: flag > environment variable > profile file > default.
 * Add new settings here so that `tpx profile set` and the README's settings table know them.
 */
import { DEFAULT_TEMPLATE_NAME } from '../thingworx/template-name.js';

export interface SettingKey {
  /** Key in the profile file (camelCase). */
  readonly key: string;
  /** Environment variable. */
  readonly env: string;
  /** Long flag that sets it on the commands that take it. */
  readonly flag: string;
  readonly secret: boolean;
  readonly description: string;
}

function k(key: string, env: string, flag: string, description: string, secret = false): SettingKey {
  return { key, env, flag, description, secret };
}

export const SETTINGS: readonly SettingKey[] = [
  k(
    'thingparkUrl',
    'TPX_THINGPARK_URL',
    '--thingpark-url',
    'ThingPark API base URL (e.g. https://community.thingpark.io)',
  ),
  k(
    'thingparkApi',
    'TPX_THINGPARK_API',
    '--thingpark-api',
    'ThingPark API flavour: dx (DX Core, default) or iotflow (operator IoT Flow v1)',
  ),
  k(
    'thingparkTokenUrl',
    'TPX_THINGPARK_TOKEN_URL',
    '--thingpark-token-url',
    'OAuth2 token endpoint (default derived from the ThingPark URL)',
  ),
  k('thingparkClientId', 'TPX_THINGPARK_CLIENT_ID', '--client-id', 'ThingPark OAuth2 client id'),
  k('thingparkClientSecret', 'TPX_THINGPARK_CLIENT_SECRET', '--client-secret', 'ThingPark OAuth2 client secret', true),
  k(
    'thingparkDownlinkUrl',
    'TPX_THINGPARK_DOWNLINK_URL',
    '--downlink-url',
    'LRC tunnel downlink endpoint (…/thingpark/lrc/rest/downlink)',
  ),
  k(
    'thingparkCa',
    'TPX_THINGPARK_CA',
    '--thingpark-ca',
    'CA certificate (PEM) to trust for ThingPark (API, token, LRC downlinks), e.g. an on-premises ThingPark Enterprise',
  ),
  k(
    'connectionBrokerUrl',
    'TPX_CONNECTION_BROKER_URL',
    '--broker-url',
    'Broker URL amqps://user:pass@host:5671 an IoT Flow AMQP connection publishes to (tpx connection apply --connector amqp)',
    true,
  ),
  k(
    'connectionDownlinkAsKey',
    'TPX_CONNECTION_DOWNLINK_AS_KEY',
    '--downlink-as-key',
    "AS key (32 hex) of a ThingPark connection's authenticated downlinks (tpx connection; not the bridge's --as-key)",
    true,
  ),
  k(
    'timeout',
    'TPX_TIMEOUT',
    '--timeout',
    'Longest wait for one outgoing HTTP call (ThingPark API, token, LRC downlink, ThingWorx REST), e.g. 30s (default)',
  ),
  k('thingworxUrl', 'TPX_THINGWORX_URL', '--thingworx-url', 'ThingWorx platform URL, https://host:port'),
  k('thingworxAppKey', 'TPX_THINGWORX_APP_KEY', '--app-key', 'ThingWorx application key', true),
  k('thingworxCa', 'TPX_THINGWORX_CA', '--ca', 'CA certificate file (PEM) to trust for ThingWorx'),
  k(
    'thingworxInsecure',
    'TPX_THINGWORX_INSECURE',
    '--insecure',
    'Skip TLS certificate verification (never in production)',
  ),
  k('template', 'TPX_TEMPLATE', '--template', `Thing Template name (default ${DEFAULT_TEMPLATE_NAME})`),
  k('pipeCount', 'TPX_PIPE_COUNT', '--pipe-count', 'Number of AlwaysOn WebSockets, 1..255 (default 1)'),
  k('asId', 'TPX_AS_ID', '--as-id', 'Application server id (AS_ID) of the ThingPark tunnel'),
  k('asKey', 'TPX_AS_KEY', '--as-key', 'Tunnel AS key used to sign and verify tokens', true),
  k('bridgeUrl', 'TPX_BRIDGE_URL', '--url', 'URL of a running bridge ingest (for uplink send)'),
  k('listen', 'TPX_LISTEN', '--listen', 'Bridge listen address HOST:PORT (default 127.0.0.1:8080)'),
  k('spoolDir', 'TPX_SPOOL_DIR', '--spool-dir', 'Bridge spool directory'),
  k('maxDevices', 'TPX_MAX_DEVICES', '--max-devices', 'Bridge device cap (default 10000)'),
  k(
    'maxTimeSkew',
    'TPX_MAX_TIME_SKEW',
    '--max-time-skew',
    'Largest accepted uplink Time skew (duration; 0 turns the check off)',
  ),
  k(
    'bindCheck',
    'TPX_BIND_CHECK',
    '--bind-check',
    'How often the bridge verifies it still holds its Things (duration, default 10s; 0 turns it off)',
  ),
  k('logFormat', 'TPX_LOG_FORMAT', '--log-format', 'Bridge log format: text or json'),
  k(
    'pingDeadline',
    'TPX_PING_DEADLINE',
    '--ping-deadline',
    'Longest silence of ThingWorx before the bridge reconnects (duration, default 5s)',
  ),
  k(
    'thingworxAdminKey',
    'TPX_THINGWORX_ADMIN_KEY',
    '--admin-key',
    "ThingWorx administrator's application key (tpx thingworx setup; thingworx check reads the bind policy and sessions with it; bridge, thing show/list name the session holding a Thing with it)",
    true,
  ),
  k(
    'sessionLiveness',
    'TPX_SESSION_LIVENESS',
    '--live-by',
    'How thingworx check tells live AlwaysOn sessions from ghosts: connections (default) or last-used',
  ),
  k(
    'ghostAfter',
    'TPX_GHOST_AFTER',
    '--ghost-after',
    'With --live-by last-used: a session unused for longer is a ghost (duration, default 10m)',
  ),
  k(
    'thingworxAdminUser',
    'TPX_THINGWORX_ADMIN_USER',
    '--admin-user',
    'ThingWorx administrator user name (tpx thingworx setup, instead of --admin-key)',
  ),
  k(
    'thingworxAdminPassword',
    'TPX_THINGWORX_ADMIN_PASSWORD',
    '--admin-password',
    'ThingWorx administrator password (with --admin-user)',
    true,
  ),
  k('bridgePath', 'TPX_BRIDGE_PATH', '--path', 'Bridge ingest path (default /uplink)'),
  k(
    'verifyTokens',
    'TPX_VERIFY_TOKENS',
    '--no-verify-tokens',
    'Bridge uplink token verification: true (default) or false',
  ),
  k('bridgeTlsCert', 'TPX_BRIDGE_TLS_CERT', '--tls-cert', 'Bridge ingest certificate file (PEM): serve HTTPS'),
  k('bridgeTlsKey', 'TPX_BRIDGE_TLS_KEY', '--tls-key', 'Bridge ingest private key file (PEM), with --tls-cert'),
  k(
    'driverTimeout',
    'TPX_DRIVER_TIMEOUT',
    '--driver-timeout',
    'Time limit of one payload driver call (duration, default 50ms)',
  ),
  k(
    'queue',
    'TPX_QUEUE',
    '--queue',
    'Fleet broker URL amqp://user:pass@host:5672/vhost: several bridges share the uplinks (default: SQLite spool)',
    true,
  ),
  k('fleetQueues', 'TPX_FLEET_QUEUES', '--fleet-queues', 'Number of fleet queues, fixed per fleet (default 16)'),
  k('fleetPrefix', 'TPX_FLEET_PREFIX', '--fleet-prefix', 'Name prefix of the fleet exchange and queues (default tpx)'),
  k('bridgeId', 'TPX_BRIDGE_ID', '--bridge-id', 'Name of this bridge in the fleet (default host name and PID)'),
  k(
    'fleetHeartbeat',
    'TPX_FLEET_HEARTBEAT',
    '--fleet-heartbeat',
    'Fleet heartbeat (duration, default 2s): members, broker heartbeat, fencing lease',
  ),
];

const byKey = new Map(SETTINGS.map((s) => [s.key, s]));

export function settingKey(key: string): SettingKey | undefined {
  return byKey.get(key);
}

export function isSecretKey(key: string): boolean {
  return byKey.get(key)?.secret ?? /secret|key|password|token/i.test(key);
}
