/**
 * The words of the phrases library code gives as data (PhraseRef in src/errors.ts): the one place that names
 * flags, TPX_* variables and tpx commands in advice. Flag and variable names come from src/config/keys.ts.
 */
import { settingKey } from '../config/keys.js';
import type { Phrase, PhraseId, PhraseRef } from '../errors.js';

function meta(setting: string): { flag: string; env: string } {
  const m = settingKey(setting);
  return m ? { flag: m.flag, env: m.env } : { flag: `--${setting}`, env: setting };
}
/** `--app-key or TPX_THINGWORX_APP_KEY` */
const flagOrEnv = (s: string) => `${meta(s).flag} or ${meta(s).env}`;
/** `TPX_THINGWORX_APP_KEY (--app-key)` */
const envFlag = (s: string) => `${meta(s).env} (${meta(s).flag})`;
const flag = (s: string) => meta(s).flag;
const env = (s: string) => meta(s).env;

type Words = { [K in PhraseId]: (ref: Extract<PhraseRef, { id: K }>) => string };

const WORDS: Words = {
  'setting-missing': (r) => `Set ${env(r.setting)} (or ${flag(r.setting)}).`,
  'setting-range': (r) =>
    `Set ${envFlag(r.setting)} to a whole number from ${r.min} to ${r.max}` +
    `${r.setting === 'pipeCount' ? ' (1 suffices in most cases)' : ''}.`,
  'setting-url': (r) => `Give the ThingWorx URL as ${r.format} (${env(r.setting)}, ${flag(r.setting)}).`,
  'alwayson-busy': () =>
    `Slow down (wait for earlier pushes to settle), add pipes (${env('pipeCount')}), or raise maxQueued.`,
  'alwayson-auth': () =>
    `Check ${envFlag('thingworxAppKey')}: the key must exist, not be expired, and its user be enabled.`,
  'alwayson-connect': (r) =>
    r.tls
      ? `Check TLS: the platform needs TLS 1.2 or newer and a certificate trusted via ${envFlag('thingworxCa')}.`
      : `Check ${envFlag('thingworxUrl')} and that the platform is reachable.`,
  'thingworx-ca': () =>
    `Give the CA certificate that signed the ThingWorx certificate with ${flagOrEnv('thingworxCa')} (PEM file), or install a certificate from a public CA on the platform.`,
  'thingworx-app-key': () =>
    `In Composer → Security → Application Keys, create a key for the user: set Username Reference and an Expiration Date in the future, Save, and use the generated Key ID (${flagOrEnv('thingworxAppKey')}).`,
  'import-template': (r) =>
    `Import the Actility Thing Template: run "tpx thingworx import-template ${flag('template')} ${r.template}" (or "--export xml" and import the file in Composer → Import/Export → Import).`,
  'template-base': (r) =>
    `Create a template based on ${r.base}: tpx thingworx import-template ${flag('template')} <new name>.`,
  'template-add-properties': (r) =>
    `Run "tpx thingworx import-template ${flag('template')} ${r.template}": it adds only the missing properties.`,
  'template-name': (r) =>
    `Check the name (${flag('template')} or ${env('template')}); ${WORDS['import-template']({ id: 'import-template', template: r.template })}`,
  'ghost-sessions': () =>
    `Stop any other connector using these Things, then close the stale ("ghost") sessions: run "tpx thingworx check ${flag('thingworxAdminKey')} <administrator key> --fix"; or set "Last in wins" on the WSCommunicationsSubsystem.`,
  'close-ghost-sessions': () =>
    `Or close the ghost sessions: "tpx thingworx check ${flag('thingworxAdminKey')} <administrator key> --fix".`,
  'tls-hostname': () =>
    `Use the host name the certificate was issued for in the hostName / ${flag('thingworxUrl')}, or install a certificate for this name.`,
  'pipe-count': () => `Set pipeCount (tpx: ${flag('pipeCount')} / ${env('pipeCount')}) to a number from 1 to 255.`,
  'device-limit': () =>
    `Split the devices over several connections (each with its own Thing Template and key), or raise tpx ${flag('maxDevices')} with care.`,
  'stop-hosted-connection': (r) =>
    `Stop connection ${r.connectionId} "${r.name}": tpx connection update ${r.connectionId} --active false (or deactivate it in the ThingPark web interface).`,
  'thingpark-settings-needed': () =>
    `Not looked for: give the ThingPark API settings (${env('thingparkUrl')}, ${env('thingparkClientId')}, ${env('thingparkClientSecret')} or the profile) to look for an active Actility-hosted ThingWorx connection.`,
  'holder-needs-admin-key': () =>
    `Naming the session that holds it needs an administrator key (${flagOrEnv('thingworxAdminKey')}).`,
  'thing-not-bound': (r) =>
    `Check that the bridge runs and bound ${r.thing || 'the Thing'} (its log: a BIND refused?); "tpx thing show ${r.thing || '<DevEUI>'} ${flag('thingworxAdminKey')} <administrator key>" says who holds it, "tpx thingworx check ${flag('thingworxAdminKey')} <administrator key>" lists the connectors of the key.`,
  'thing-holder-silent': (r) =>
    `Find the session: "tpx thing show ${r.thing} ${flag('thingworxAdminKey')} <administrator key>"; a ghost is closed with "tpx thingworx check ${flag('thingworxAdminKey')} <administrator key> --fix", or set "Last in wins" so that the bridge takes the bind over.`,
  'find-holder': () =>
    `Find who holds them: "tpx thingworx check ${flag('thingworxAdminKey')} <administrator key>" lists every session of the key (live connectors and ghosts) and an active Actility-hosted connection; "tpx thing show <DevEUI>" names the holder of one Thing.`,
  'admin-key-invalid': (r) =>
    r.what === 'policy'
      ? `Check that ${flag('thingworxAdminKey')} (or ${env('thingworxAdminKey')}) is a valid key of an administrator.`
      : `Check that the administrator key (${flagOrEnv('thingworxAdminKey')}) is valid and that its user may execute QueryEndpointSessions on the WSCommunicationsSubsystem.`,
  'admin-key-needed': (r) =>
    r.what === 'policy'
      ? `Reading the policy needs an administrator key (${flag('thingworxAdminKey')}); inferring it needs --write-probe.`
      : `Listing sessions needs an administrator key (${flagOrEnv('thingworxAdminKey')}).`,
  'write-probe': (r) =>
    r.what === 'bind'
      ? 'Run with --write-probe (tpx creates, binds and deletes one).'
      : 'Run "tpx thingworx check --write-probe" to verify by creating and deleting a probe entity.',
  'closed-on-request': () => '--fix',
  'not-verified': () => `certificate NOT verified (${flag('thingworxInsecure')}),`,
  'setup-bind-policy-names': () =>
    'Name it with --bind-policy-table and --bind-policy-field (see "tpx thingworx setup --help"), or set it in Composer: Subsystems → WSCommunicationsSubsystem → Configuration.',
  'setup-key-owner': (r) => `Choose another key name with --key-name, or run setup with --user ${r.user}.`,
  'setup-template-shape': () =>
    `Fix or delete the template in Composer (or use another name with ${flag('template')}), then run setup again.`,
  'setup-admin-credentials': (r) =>
    r.rejected
      ? `Check ${flag('thingworxAdminKey')} (or ${flag('thingworxAdminUser')}/${flag('thingworxAdminPassword')}): the key must exist, not be expired, and belong to an administrator.`
      : `Run setup with an administrator's credentials (a member of the Administrators group): ${flag('thingworxAdminKey')}, or ${flag('thingworxAdminUser')} and ${flag('thingworxAdminPassword')}.`,
  'setup-failed': () =>
    'Run again with --verbose for details; "tpx thingworx setup --dry-run" shows each step without changing anything.',
  'admin-key-instead': () => `Use ${flag('thingworxAdminKey')} with an application key of that administrator instead.`,
  'bridge-as-key': () =>
    `Pass ${flag('asKey')} (or ${env('asKey')}), or turn verification off with ${flag('verifyTokens')} (never in production).`,
  'bridge-listen': (r) =>
    r.inUse
      ? `Another process uses that port: stop it, or pass another ${flag('listen')} HOST:PORT.`
      : `Check the ${flag('listen')} address (HOST:PORT of this machine).`,
  'bridge-template-missing': () =>
    `Import it with "tpx thingworx import-template" (or "tpx thingworx setup"), or pass ${flag('template')}.`,
  'spool-dir-writable': () => `Check that ${flag('spoolDir')} points to a writable directory.`,
  'spool-locked': () => `Stop that bridge, or give this one its own ${flag('spoolDir')}.`,
  'fleet-broker': (r) =>
    r.auth
      ? `Check the user, password and virtual host in ${flag('queue')} (or ${env('queue')}).`
      : `Check that RabbitMQ runs there and that ${flag('queue')} (or ${env('queue')}) names it.`,
  'alwayson-input': (r) =>
    r.what === 'frame'
      ? 'Check that the input is one complete AlwaysOn frame (hex of the WebSocket binary payload, no framing).'
      : 'Correct the message (the format is the one printed by `tpx alwayson decode --json`).',
  'thingworx-check': () => 'Run "tpx thingworx check" to test the whole ThingWorx set-up at once.',
  'setup-template-denied': () =>
    'Run "tpx thingworx check" with the new key to see which right is missing, or create the template with "tpx thingworx import-template".',
  'thing-not-found': () =>
    'Check the DevEUI with "tpx thing list"; the bridge creates a device\'s Thing at its first uplink.',
  'thingpark-client': () =>
    `Check ${flag('thingparkClientId')} and the secret (${env('thingparkClientId')}, ${env('thingparkClientSecret')} or the profile); a TPE service account id looks like sub-<subscriber>/<name>.`,
  'thingpark-flavour': () =>
    `Check that the client id and secret belong to this ThingPark instance and API flavour (${flag('thingparkApi')}).`,
  'connection-list': (r) =>
    r.what === 'id'
      ? 'Check the id with "tpx connection list".'
      : 'Check with "tpx connection list" whether it was created before trying again.',
  'connection-delete': () => 'Delete a connection you no longer need ("tpx connection delete <id>") and try again.',
  'dead-letters': () => 'List them with "tpx bridge dead-letters".',
  'emulator-listen': (r) =>
    r.inUse
      ? 'Another process uses that port: stop it, or pass another --port (0 picks a free one).'
      : 'Check --host (an address of this machine) and --port.',
  'emulator-state': (r) =>
    r.what === 'path'
      ? 'Check the path given to --state.'
      : 'Give another --state file, or delete this one to start afresh.',
};

function word(part: string | PhraseRef): string {
  if (typeof part === 'string') return part;
  return (WORDS[part.id] as (r: PhraseRef) => string)(part);
}

/** The sentence(s) of a phrase, for people. */
export function say(p: Phrase): string;
export function say(p: Phrase | undefined): string | undefined;
export function say(p: Phrase | undefined): string | undefined {
  if (p === undefined) return undefined;
  if (typeof p === 'string') return p;
  if (Array.isArray(p)) return joinParts((p as (string | PhraseRef)[]).map(word));
  return word(p as PhraseRef);
}

/**
 * Parts said one after another. After a part that leaves the sentence open (it ends with ":", "," or a word),
 * the next continues it: its first word is lower-cased ("… bind: run with …"), unless it is a name (ThingWorx,
 * TLS, TPX_…).
 */
function joinParts(parts: string[]): string {
  let out = '';
  for (const part of parts) {
    if (!out) out = part;
    else out += ` ${/[.!?)"]$/.test(out) ? part : continueSentence(part)}`;
  }
  return out;
}

const continueSentence = (s: string) => s.replace(/^[A-Z][a-z]*(?=[\s,.:;]|$)/, (w) => w.toLowerCase());

/** A value whose phrase fields are said: plain strings, for tables, text and JSON. */
export type Said<T, K extends keyof T> = Omit<T, K> & { [P in K]: Extract<T[P], undefined> | string };

/** Says the phrase fields `keys` of `value` (a check item, an explanation…). */
export function sayFields<T extends object, K extends keyof T>(value: T, ...keys: K[]): Said<T, K> {
  const out = { ...value } as Record<string, unknown>;
  for (const k of keys) {
    const v = value[k] as Phrase | undefined;
    if (v !== undefined) out[k as string] = say(v);
  }
  return out as Said<T, K>;
}
