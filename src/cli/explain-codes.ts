/**
 * Every TPX_* error code tpx prints, with its cause and what to do: `tpx explain TPX_…` (and any text naming a
 * code) says it. test/cli/explain-codes.test.ts walks the codes in src/ and fails for one missing here.
 * In src/cli: the fixes may name commands, flags and TPX_* variables.
 */

import { say } from './phrases.js';

export interface CodeExplanation {
  title: string;
  cause: string;
  fix: string;
}

const e = (title: string, cause: string, fix: string): CodeExplanation => ({ title, cause, fix });

const CHECK = say({ id: 'thingworx-check' });
const HOLDER =
  'Find who holds the Things: "tpx thingworx check --admin-key <key>" lists every AlwaysOn session of the key (live connectors and ghosts) and an active Actility-hosted connection; "tpx thing show <DevEUI> --admin-key <key>" names the holder of one Thing.';

export const CODE_EXPLANATIONS: Record<string, CodeExplanation> = {
  // AlwaysOn client and pool
  TPX_ALWAYSON_BUSY: e(
    'AlwaysOn requests queue full',
    'More requests wait for the AlwaysOn connection than it may queue: ThingWorx answers slower than tpx sends.',
    'Slow down, add pipes (--pipe-count, TPX_PIPE_COUNT), and check the platform load.',
  ),
  TPX_ALWAYSON_CLOSED: e(
    'AlwaysOn client closed',
    'A request was made on an AlwaysOn client that was already closed (the bridge is stopping).',
    'Nothing to do while stopping; otherwise report it with --verbose output.',
  ),
  TPX_ALWAYSON_CONNECT: e(
    'AlwaysOn WebSocket did not open',
    'The WSS connection to /Thingworx/WS failed: DNS, TCP, TLS or the HTTP upgrade.',
    'Check --thingworx-url (TPX_THINGWORX_URL), TLS 1.2 and the CA (--ca); "tpx thingworx check" tests both.',
  ),
  TPX_ALWAYSON_DISCONNECTED: e(
    'AlwaysOn connection lost',
    'The WebSocket closed before ThingWorx answered: a network cut, the platform restarting, an idle timeout, an administrator closing the session, or ThingWorx silent past --ping-deadline (a frozen platform or a dead network path).',
    'The client reconnects and sends again by itself; if it repeats, check the network and the ThingWorx Application log.',
  ),
  TPX_ALWAYSON_OPTIONS: e(
    'Invalid AlwaysOn options',
    'An option of the AlwaysOn client or pool is out of range (e.g. the pipe count).',
    'Correct the setting the message names (e.g. --pipe-count 1..255).',
  ),
  TPX_ALWAYSON_REQUEST_FAILED: e(
    'ThingWorx refused an AlwaysOn request',
    'The platform answered a push or service call with an error status (e.g. NOT_FOUND for a Thing it does not know, or a Thing no longer bound on this connection).',
    `Check that the Thing exists, is a RemoteThing, and is bound by this connection. ${HOLDER}`,
  ),
  TPX_ALWAYSON_TIMEOUT: e(
    'No AlwaysOn answer in time',
    'ThingWorx did not answer within the request timeout.',
    'Check the platform load and the network; the bridge retries.',
  ),
  TPX_ALWAYSON_WITHDRAWN: e(
    'Push or bind withdrawn before it was sent',
    "A fleet bridge (--queue) asked again, right before writing a push or a BIND, whether it still holds the device's queue; it did not (the broker gave the queue to another bridge while it waited, or the process was paused), so nothing was sent.",
    'Nothing to do: the report is dropped here (push.fenced) and delivered by the bridge that holds the queue now.',
  ),
  // Fleet (tpx bridge --queue, tpx fleet status)
  TPX_FLEET_UNREACHABLE: e(
    'Fleet broker not reachable',
    'The RabbitMQ broker of --queue (TPX_QUEUE) did not answer in time, refused the connection, or what answered does not speak AMQP.',
    'Check that RabbitMQ runs at that host and port and that --queue (or TPX_QUEUE) names it; "tpx fleet status --queue <url>" tests it.',
  ),
  TPX_FLEET_AUTH: e(
    'Fleet broker refused the user or virtual host',
    'RabbitMQ refused the user name or password of the --queue URL, or the user may not use its virtual host.',
    'Check the user and password in --queue (TPX_QUEUE) and its permissions (rabbitmqctl list_permissions -p /); see the README section "Running several bridges".',
  ),
  TPX_ALWAYSON_STATE: e(
    'AlwaysOn client in the wrong state',
    'The AlwaysOn client was asked for a state change it cannot make (e.g. to start again once closed): a bug.',
    'Run the command again with --verbose and report the output.',
  ),
  TPX_AUTH_FAILED: e(
    'AlwaysOn AUTH refused',
    'ThingWorx refused the application key on the AlwaysOn connection: wrong, expired, or its user disabled.',
    'Check --app-key (TPX_THINGWORX_APP_KEY); "tpx thingworx check" tells the key, its user and its expiry.',
  ),
  TPX_BIND_REJECTED: e(
    'BIND refused ("Binding failed")',
    'Under "First in wins" another AlwaysOn session holds the Things: a second connector on the same Things (often an active Actility-hosted connection while the bridge runs) or a ghost session. Under "Last in wins", or when ThingWorx does not know the Things as Remote Things, the Things are missing, not RemoteThings, or not visible to the key\'s user.',
    `${HOLDER} Stop the connector that should not run; close ghosts with "tpx thingworx check --admin-key <key> --fix", or set "Last in wins" ("tpx thingworx setup --bind-policy last-in-wins").`,
  ),
  // Bridge
  TPX_LISTEN: e(
    'The bridge cannot listen',
    'The ingest address (--listen) is in use by another process or not allowed.',
    'Pick another --listen HOST:PORT (TPX_LISTEN), or stop the process holding the port.',
  ),
  TPX_QUEUE_FULL: e(
    'Report queue full',
    'The bridge holds as many undelivered reports as it may (--max-spool): ThingWorx does not take them fast enough, or is unreachable.',
    "The ingest answers 503 so ThingPark retries; check the bridge's delivery to ThingWorx (/metrics, its log).",
  ),
  TPX_QUEUE_STORAGE: e(
    'Report queue cannot store',
    'The spool (or the fleet broker) refused to store a report: disk full or failing, or the broker down.',
    'Free disk space in the spool directory, or check the broker; the bridge recovers by itself.',
  ),
  TPX_SPOOL_LOCKED: e(
    'Spool used by another bridge',
    'Another bridge process holds the spool directory (one bridge per spool).',
    'Stop the other bridge, or give this one its own --spool-dir.',
  ),
  TPX_SPOOL_OPEN: e(
    'Spool cannot be opened',
    'The spool directory or database cannot be created, locked or opened.',
    'Check that --spool-dir exists and is writable by this user.',
  ),
  TPX_SPOOL_VERSION: e(
    'Spool of a newer tpx',
    'The spool was written by a newer tpx whose format this one cannot read.',
    'Run the newer tpx, or move the spool away (it still holds undelivered reports).',
  ),
  TPX_TEMPLATE_MISSING: e(
    'Thing Template missing',
    "The Thing Template the bridge creates Things from does not exist on ThingWorx (or is not visible to the key's user).",
    'Run "tpx thingworx import-template" (or import it in Composer), then restart the bridge.',
  ),
  TPX_TEMPLATE_NOT_FOUND: e(
    'Thing Template not found',
    "No Thing Template of that name on ThingWorx, or the key's user cannot see it.",
    'Check --template (TPX_TEMPLATE); "tpx thingworx import-template" creates it.',
  ),
  TPX_THING_NOT_FOUND: e(
    'Thing not found',
    "No Thing of that name (DevEUI) on ThingWorx, or the key's user cannot see it. The bridge creates a device's Thing at its first uplink.",
    'Check the DevEUI with "tpx thing list"; send an uplink first ("tpx uplink send") or wait for the device.',
  ),
  TPX_TUNNEL_MESSAGE_INVALID: e(
    'Invalid ThingPark document',
    'An uplink or downlink document does not have the fields the ThingPark tunnel interface defines.',
    'Check the document the sender produced; the refused field is named in the message.',
  ),
  // ThingWorx REST
  TPX_TWX_ALREADY_EXISTS: e(
    'Entity already exists',
    'ThingWorx says an entity of that name exists: possibly one the user cannot see, or a "ghost" entity after a failed create.',
    'Give the user Visibility on it or pick another name; a restart of ThingWorx removes a ghost entity.',
  ),
  TPX_TWX_APPKEY_IN_URL: e(
    'Application key in the URL',
    'ThingWorx refuses an application key given as a ?appKey= URL parameter.',
    'Send it in the appKey header (tpx always does).',
  ),
  TPX_TWX_BAD_RESPONSE: e(
    'Unexpected ThingWorx answer',
    'ThingWorx answered with something tpx cannot read (e.g. no user for the key).',
    `Check the URL (https://host:port, without /Thingworx). ${CHECK}`,
  ),
  TPX_TWX_DESIGN_TIME_DENIED: e(
    'Design-time permission missing',
    "The key's user lacks design-time Create (or Read) on the Things / Thing Templates collections.",
    'Composer → Permissions → Collections → Things and Thing Templates → Design Time: Create and Read for the user; or "tpx thingworx setup".',
  ),
  TPX_TWX_EDGE_NO_ANSWER: e(
    'The session holding the Thing does not answer',
    'ThingWorx forwarded a write to the AlwaysOn session holding the Thing, and no answer came: a ghost session (no connection) or a connector that hangs.',
    `${HOLDER} Close a ghost with "tpx thingworx check --admin-key <key> --fix", or set "Last in wins" so that the bridge takes the bind over.`,
  ),
  TPX_TWX_HTTP: e(
    'ThingWorx HTTP error',
    'ThingWorx answered with an HTTP error tpx has no better name for (its text follows the code).',
    `For a 5xx see the ThingWorx Application log; for a 4xx check the URL and the user's rights. ${CHECK}`,
  ),
  TPX_TWX_NOT_FOUND: e(
    'Entity not found',
    "ThingWorx found no entity of that name, or the key's user cannot see it (no Visibility).",
    "Check the name (case-sensitive) and the user's Visibility on it.",
  ),
  TPX_TWX_NO_VISIBILITY: e(
    'Entity not visible',
    'The key\'s user has no Visibility on the entity, so for it the entity "does not exist".',
    'Composer → Permissions → Entities (or Collections): Visibility for the Composer organization; or "tpx thingworx setup".',
  ),
  TPX_TWX_PLAIN_HTTP: e(
    'No TLS',
    'The ThingWorx URL answered without TLS: the connector only uses WebSocket Secure over TLS 1.2+.',
    'Enable TLS on the platform and use its https:// port.',
  ),
  TPX_TWX_SERVICE_DENIED: e(
    'Service not allowed',
    "The key's user may not execute the service (run-time permission).",
    'Composer → Permissions → Entities → EntityServices → Run Time: allow the service; or "tpx thingworx setup".',
  ),
  TPX_TWX_SERVICE_FAILED: e(
    'ThingWorx service failed',
    'A ThingWorx service threw ("Unable to Invoke Service …").',
    `See the ThingWorx Application log for the cause. ${CHECK}`,
  ),
  TPX_TWX_THING_NOT_BOUND: e(
    'Thing is not bound: no connector holds it',
    'ThingWorx answered "Thing is not bound": no AlwaysOn session binds the Thing, so a write of its remote property (e.g. a downlink) cannot reach a connector. The bridge is stopped, never bound it, or its BIND was refused (First in wins, another connector holding it before).',
    `Check that the bridge runs and its log for a refused BIND. ${HOLDER}`,
  ),
  TPX_TWX_TIMEOUT: e(
    'ThingWorx did not answer in time',
    'No answer within --timeout.',
    'Check that ThingWorx runs and is reachable; raise --timeout for a slow platform.',
  ),
  TPX_TWX_TLS: e(
    'TLS problem with ThingWorx',
    'The certificate is not trusted or not valid now, or the platform offers only TLS older than 1.2.',
    'Give the CA with --ca (TPX_THINGWORX_CA), renew the certificate, or enable TLS 1.2+.',
  ),
  TPX_TWX_UNAUTHORIZED: e(
    'Application key rejected',
    'ThingWorx rejected the application key (unknown, expired, or its user disabled).',
    'A key with an Expiration Date in the future (Composer → Security → Application Keys, or "tpx thingworx setup").',
  ),
  TPX_TWX_UNREACHABLE: e(
    'ThingWorx not reachable',
    'No connection to the ThingWorx host:port.',
    'Check --thingworx-url, that ThingWorx runs, and firewalls.',
  ),
  // ThingPark
  TPX_DOWNLINK_HTTP: e(
    'ThingPark refused the downlink (HTTP)',
    'The LRC downlink endpoint answered with an HTTP error.',
    'Check --downlink-url, the AS_ID and the AS key (--as-id, --as-key).',
  ),
  TPX_DOWNLINK_INVALID: e(
    'Invalid downlink',
    'A field of the downlink is out of range (FPort, payload).',
    'Correct the value the message names and send it again.',
  ),
  TPX_DOWNLINK_NO_STATUS: e(
    'No downlink status',
    'The downlink was written to the Thing but no bridge reported its status in time: no bridge holds the Thing, or it could not reach ThingPark.',
    `Check that a bridge runs and binds the Thing ("tpx thing show <DevEUI>" says who holds it), and the bridge's log.`,
  ),
  TPX_DOWNLINK_REJECTED: e(
    'Downlink rejected',
    'ThingPark (or the bridge) refused the downlink; the reason follows.',
    'Correct what the reason names and send it again.',
  ),
  TPX_THINGPARK_API: e(
    'ThingPark API error',
    'The ThingPark connections API answered with an error.',
    'Check --thingpark-url, --thingpark-api and the rights of the API client; the message says which call.',
  ),
  TPX_THINGPARK_AUTH: e(
    'ThingPark credentials refused',
    'ThingPark refused the OAuth2 client id and secret.',
    'Check --client-id and --client-secret (TPX_THINGPARK_CLIENT_ID, TPX_THINGPARK_CLIENT_SECRET).',
  ),
  TPX_THINGPARK_NOT_JSON: e(
    'ThingPark answered something else than JSON',
    'The URL answered with HTML or text: probably not the ThingPark API.',
    'Check --thingpark-url and --thingpark-api (dx or iotflow).',
  ),
  TPX_UPLINK_REFUSED: e(
    'The bridge refused uplinks',
    'The bridge answered 4xx/5xx to uplinks: a bad token (AS key), a bad document, or a full queue.',
    "Check the AS key (--as-key) and the bridge's log.",
  ),
  TPX_UPLINK_UNREACHABLE: e(
    'No bridge answered',
    'Nothing listens at the bridge ingest URL.',
    'Start the bridge ("tpx bridge") or the sandbox, or give --url (TPX_BRIDGE_URL).',
  ),
  // HTTP (every outgoing call)
  TPX_HTTP_CERTIFICATE: e(
    'Certificate not trusted',
    "The server's certificate is not trusted or not valid.",
    'Give its CA (--ca / --thingpark-ca) or fix the certificate.',
  ),
  TPX_HTTP_NOT_TLS: e(
    'Server does not speak TLS',
    'An https:// URL reached a plain-HTTP server.',
    'Use http:// for that server, or its TLS port.',
  ),
  TPX_HTTP_TIMEOUT: e(
    'HTTP call timed out',
    'The server did not answer within --timeout (every retry included).',
    'Check the server and the network; raise --timeout.',
  ),
  TPX_HTTP_UNREACHABLE: e(
    'Server not reachable',
    'The connection was refused, the host is unknown, or it was reset.',
    'Check the URL, that the server runs, and firewalls.',
  ),
  // Payload drivers
  TPX_DRIVER_ASSIGNMENT: e(
    'Driver assignment invalid',
    'A driver assignment (by DevEUI, DriverCfg.id or port) is malformed or names no installed driver.',
    'Check "tpx driver list" and the assignment.',
  ),
  TPX_DRIVER_CLOSED: e(
    'Driver host closed',
    'A driver was called after the driver host stopped (the bridge is stopping).',
    'Nothing to do while stopping; otherwise report it with --verbose output.',
  ),
  TPX_DRIVER_EXISTS: e(
    'Driver exists',
    'A driver of that name is already installed.',
    'Use another name, or replace it ("tpx driver add … --replace").',
  ),
  TPX_DRIVER_FUNCTION: e(
    'Driver function failed',
    "The driver's decodeUplink / encodeDownlink threw or returned something invalid.",
    'Test it with "tpx driver decode" / "tpx driver test" and fix the driver.',
  ),
  TPX_DRIVER_LOAD: e(
    'Driver cannot be loaded',
    "The driver's code does not load or defines no decodeUplink.",
    'Test it with "tpx driver test" and fix the driver.',
  ),
  TPX_DRIVER_NOT_FOUND: e(
    'Driver not found',
    'No driver at that path, or none installed by that name.',
    'Check the path, or "tpx driver list".',
  ),
  TPX_DRIVER_PACKAGE: e(
    'Not a driver package',
    'The source is not a folder, a .tgz or a .js file holding a driver.',
    'Give a driver folder, .tgz or .js file.',
  ),
  // AlwaysOn codec
  TPX_ENCODE: e(
    'AlwaysOn message cannot be encoded',
    'A value does not fit the AlwaysOn type it is sent as.',
    'Correct the value the message names.',
  ),
  TPX_PROTOCOL: e(
    'Malformed AlwaysOn data',
    'Bytes received (or given to "tpx alwayson decode") are not a valid AlwaysOn message.',
    'Check the frame; for live traffic, report it with --verbose output.',
  ),
  TPX_TLS_INSECURE: e(
    'TLS verification off',
    'Certificate verification is off for the AlwaysOn connection (--insecure): a warning, not an error.',
    'Give the CA with --ca instead of --insecure.',
  ),
  // ThingWorx setup
  TPX_SETUP_AUTH: e(
    'Administrator credentials rejected',
    "ThingWorx rejected the administrator's key or user and password (401).",
    'Check --admin-key, or --admin-user and --admin-password.',
  ),
  TPX_SETUP_BIND_POLICY: e(
    'Bind Protection Policy not found',
    'The WSCommunicationsSubsystem configuration has no field tpx recognises as the Bind Protection Policy.',
    'Give --bind-policy-table, --bind-policy-field and --bind-policy-value, or set it in Composer.',
  ),
  TPX_SETUP_FAILED: e(
    'Setup step failed',
    'A step of "tpx thingworx setup" failed; the message names it and ThingWorx\'s answer.',
    'Fix what it names and run "tpx thingworx setup" again (it is re-runnable).',
  ),
  TPX_SETUP_FORBIDDEN: e(
    'Administrator lacks a right',
    'The administrator credentials may not do a setup step.',
    'Use a member of the Administrators group.',
  ),
  TPX_SETUP_KEY_EXPIRY: e(
    'Application key expiry',
    "The connector's application key is expired or cannot be given the expiry asked.",
    'Give --key-expiry, or renew the key in Composer.',
  ),
  TPX_SETUP_KEY_ID: e(
    'No Key ID',
    'ThingWorx returned no Key ID for the application key.',
    'Open the key in Composer → Security → Application Keys and copy its Key ID.',
  ),
  TPX_SETUP_KEY_OWNER: e(
    'Application key of another user',
    'An application key of that name belongs to another user than the connector user.',
    'Pick another key name, or delete that key in Composer.',
  ),
  TPX_SETUP_TEMPLATE: e(
    'Thing Template of the wrong shape',
    'The Thing Template exists with another base or lacks properties.',
    'Run "tpx thingworx import-template" (adds what is missing), or use another --template.',
  ),
  // CLI, config, emulators, sandbox
  TPX_CANCELLED: e(
    'Cancelled',
    'A confirmation was declined (nothing was changed), or the command was interrupted by Ctrl-C or SIGTERM (exit 130 or 143; a request already sent may have taken effect).',
    'Run it again: confirm, or add --yes; after an interruption, check what it had done (e.g. tpx connection list).',
  ),
  TPX_CHECK_FAILED: e(
    'A check found problems',
    'A diagnosis (e.g. "tpx thingworx check") found problems; each is printed with its fix (exit code 3).',
    'Apply the fixes printed above, then run the check again.',
  ),
  TPX_CONFIG_PARSE: e(
    'Config file not valid',
    'The tpx config file (profiles) is not valid JSON.',
    'Fix it by hand, or move it away and recreate the profiles with "tpx profile set".',
  ),
  TPX_CONFIG_READ: e('Config file unreadable', 'The tpx config file cannot be read.', 'Check its permissions.'),
  TPX_ERROR: e(
    'An error without a tpx code',
    'A bridge event reports an error that carries no TPX_* code of its own (from a library, the system or the platform); its message says what failed.',
    'Read the message; run with --verbose for details, and "tpx explain" the message text itself.',
  ),
  TPX_INTERNAL: e(
    'Internal error',
    'An error tpx did not expect.',
    'Run the command again with --verbose and report the output.',
  ),
  TPX_USAGE: e(
    'Usage error',
    'A flag, argument or setting is missing or has a bad value (exit code 2).',
    "The message names the flag; see the command's --help.",
  ),
  TPX_EMULATOR_LISTEN: e(
    'Emulator cannot listen',
    "The emulator's port is in use or not allowed.",
    'Give another --port, or stop the process holding it.',
  ),
  TPX_EMULATOR_NO_KEY: e(
    'Emulator key unknown',
    'The ThingWorx emulator has no application key of that name.',
    "Check the key names in the emulator's state file.",
  ),
  TPX_EMULATOR_PLATFORM_ERROR: e(
    'Emulated platform error',
    'The ThingWorx emulator answered an error, as ThingWorx would.',
    "Read the text that follows; it is ThingWorx's.",
  ),
  TPX_EMULATOR_STATE: e(
    'Emulator state file unreadable',
    "The emulator's --state file cannot be read or parsed.",
    'Give another --state file, or delete this one to start afresh.',
  ),
  TPX_SANDBOX_LOST: e(
    'The sandbox lost messages',
    'Some uplinks or downlinks of the sandbox were not delivered.',
    'Run "tpx sandbox --verbose" and report it: the sandbox must lose nothing.',
  ),
  TPX_SANDBOX_START: e(
    'The sandbox did not start',
    'The bridge did not connect to the ThingWorx emulator in time.',
    'Run "tpx sandbox --verbose" to see the bridge events.',
  ),
};

/** The TPX_* codes a text names that this table explains, in order, once each. */
export function codesIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\bTPX_[A-Z0-9_]+\b/g)) {
    if (CODE_EXPLANATIONS[m[0]] && !out.includes(m[0])) out.push(m[0]);
  }
  for (const [test, code] of MESSAGE_CODES) {
    if (test.test(text) && !out.includes(code)) out.push(code);
  }
  return out;
}

/**
 * tpx's own messages without their code (the bridge's log lines, an error's first line, the cause words of /metrics
 * and /readyz), pasted as they were printed: the code each one is an error of. Durations match every way tpx has
 * written them (`5s`, `5.2s`, `480ms` now; `5 s`, `5.0 s`, `5004 ms` before): people paste old logs.
 */
const MESSAGE_CODES: [RegExp, string][] = [
  [/\bThing(?:Worx|Park)\b[\w ]* at \S+ did not answer within\b/i, 'TPX_HTTP_TIMEOUT'],
  [/Could not open the AlwaysOn WebSocket|\bconnect_(?:timeout|refused)\b/, 'TPX_ALWAYSON_CONNECT'],
  [
    /said nothing for [\d.]+ ?m?s, not even a pong|ThingWorx went silent|\b(?:ping_timeout|thingworx_down|pipe_down)\b/,
    'TPX_ALWAYSON_DISCONNECTED',
  ],
  [/no answer from ThingWorx within [\d.]+ ?m?s\b/, 'TPX_ALWAYSON_TIMEOUT'],
  [/The spool is full|\bspool_full\b/, 'TPX_QUEUE_FULL'],
  [/The spool cannot store|\bspool_unwritable\b/, 'TPX_QUEUE_STORAGE'],
  [/Cannot reach ThingWorx at /, 'TPX_TWX_UNREACHABLE'],
  [/Cannot (?:create the spool directory|open the spool|lock the spool) /, 'TPX_SPOOL_OPEN'],
  [/Another bridge uses the spool /, 'TPX_SPOOL_LOCKED'],
];
