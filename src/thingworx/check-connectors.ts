/**
 * Check items "Live connectors of this key" and "Actility-hosted connection": two connectors on one key fight for
 * the same Things (under First in wins the second is refused and sits idle; under Last in wins they take the binds
 * from each other). The usual second connector is an active Actility-hosted ThingWorx connection (ThingPark IoT
 * Flow) pointing at the same platform while tpx's bridge runs.
 */
import type { Phrase } from '../errors.js';
import { isCanonicalDevEui } from '../util/hex.js';
import { competitors, countConnectors, type EndpointSession } from './check-sessions.js';
import { type CheckItem, type HostedConnection, item } from './check-types.js';

export const HOSTED_CONNECTOR_ID = 'actility-thingworx-iot';

/** "2026-12-03 12:00:00Z" */
function when(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : 'an unknown time';
}

/** One line naming a session: endpoint id, address, since, binds. */
export function describeSession(s: EndpointSession): string {
  const binds = s.numberBoundThings ?? 0;
  return (
    `session ${s.endpointId} (${s.remoteAddress ? `from ${s.remoteAddress}, ` : ''}since ${when(s.startDate)}, ` +
    `${binds} bind${binds === 1 ? '' : 's'}${s.state && s.state !== 'live' ? `, ${s.state}` : ''})`
  );
}

/** host[:port] of a URL or of a connection's hostName ("host:port", "host", or a URL), lower case. */
export function hostPort(v: string): { host: string; port?: number } | undefined {
  const text = v.trim();
  if (!text) return undefined;
  try {
    const u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
    const port = u.port ? Number(u.port) : u.protocol === 'http:' || u.protocol === 'ws:' ? 80 : 443;
    return { host: u.hostname.toLowerCase().replace(/^\[|\]$/g, ''), port };
  } catch {
    return undefined;
  }
}

/** An Actility-hosted ThingWorx connection that is switched on (active, or a state other than deactivated). */
export function isActiveHosted(c: HostedConnection): boolean {
  if (c.connectorId !== HOSTED_CONNECTOR_ID) return false;
  if (c.active === false) return false;
  return !/DEACTIVATED|CLOSED|DISABLED/i.test(c.state ?? '');
}

/** The active hosted connections whose hostName is the ThingWorx URL's host and port. */
export function hostedToSameHost(list: HostedConnection[], thingworxUrl: string): HostedConnection[] {
  const target = hostPort(thingworxUrl);
  if (!target) return [];
  return list.filter((c) => {
    if (!isActiveHosted(c)) return false;
    const h = hostPort(String(c.configuration.hostName ?? ''));
    return h !== undefined && h.host === target.host && h.port === target.port;
  });
}

export type HostedLookup =
  | { looked: false }
  | { looked: true; found: HostedConnection[]; error?: undefined }
  | { looked: true; error: string; found?: undefined };

export async function lookForHosted(
  list: (() => Promise<HostedConnection[]>) | undefined,
  thingworxUrl: string,
): Promise<HostedLookup> {
  if (!list) return { looked: false };
  try {
    return { looked: true, found: hostedToSameHost(await list(), thingworxUrl) };
  } catch (err) {
    return { looked: true, error: err instanceof Error ? err.message : String(err) };
  }
}

function stopHosted(found: HostedConnection[]): Phrase {
  return found.map((c) => ({ id: 'stop-hosted-connection', connectionId: c.id, name: c.name }) as const);
}

/** Live sessions of other keys that bind device Things (named by DevEUI): another connector on the same devices. */
export function otherConnectors(sessions: EndpointSession[], keyName: string | undefined): EndpointSession[] {
  if (!keyName) return [];
  return sessions.filter(
    (s) => s.appKeyName !== keyName && s.state === 'live' && (s.boundThings ?? []).some(isCanonicalDevEui),
  );
}

/**
 * Every session of the key, live or not: more live connectors than one is a failure, naming the competing
 * sessions (and the hosted connection, when found). `others`: live sessions of other keys holding device Things;
 * with a live connector of this key too, they compete for the devices (otherKeys).
 */
export function connectorsItem(
  sessions: EndpointSession[] | undefined,
  keyName: string | undefined,
  pipeCount: number,
  hosted: HostedLookup,
  otherKeys: EndpointSession[] = [],
): CheckItem {
  if (!sessions) return item('connectors', 'skipped', 'The AlwaysOn sessions could not be listed (see above).');
  // With the key's name, that key's sessions; without, each key's in turn (the worst one reported).
  const groups = new Map<string, EndpointSession[]>();
  for (const s of sessions) {
    const k = s.appKeyName ?? '';
    if (keyName && k !== keyName) continue;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  const data = { sessions, pipeCount, ...(keyName ? { keyName } : {}) };
  const counted = [...groups.entries()].map(([k, list]) => ({ key: k, list, count: countConnectors(list, pipeCount) }));
  counted.sort((a, b) => b.count.connectors - a.count.connectors);
  const worst = counted[0];
  const found = hosted.looked && hosted.found ? hosted.found : [];
  const keyWords = (k: string) => (k ? `key ${k}` : 'an unnamed key');
  const otherWords = otherKeys.length
    ? ` ${otherKeys.length} live session(s) of other keys also bind device Things: ${otherKeys
        .map((o) => `key ${o.appKeyName ?? '?'} ${describeSession(o)}`)
        .join('; ')}.`
    : '';
  if (!worst || worst.count.connectors === 0) {
    const ghosts = sessions.filter((s) => s.state === 'ghost').length;
    return item(
      'connectors',
      'passed',
      `No live AlwaysOn session of ${keyName ? keyWords(keyName) : 'any key'}${ghosts ? ` (${ghosts} ghost(s), above)` : ''}.${otherWords}`,
      { data },
    );
  }
  const { count } = worst;
  const listed = count.live.map(describeSession).join('; ');
  const unknown = count.unknown.length ? ` ${count.unknown.length} more session(s) of unknown state.` : '';
  if (count.connectors === 1 && otherKeys.length) {
    const fix: (string | Phrase)[] = [];
    if (found.length) fix.push(stopHosted(found));
    fix.push("Keep one connector on these devices: stop the one that should not run (the other key's, or this one).");
    return item('connectors', 'failed', `1 live connector uses ${keyWords(worst.key)}: ${listed}.${otherWords}`, {
      fix: fix.flat() as Phrase,
      data: { ...data, competing: otherKeys.map((o) => o.endpointId), hosted: found },
    });
  }
  if (count.connectors === 1) {
    return item('connectors', 'passed', `1 live connector uses ${keyWords(worst.key)}: ${listed}.${unknown}`, { data });
  }
  const others = competitors(count, pipeCount);
  const fix: (string | Phrase)[] = [];
  if (found.length) {
    fix.push(
      `The Actility-hosted connection${found.length > 1 ? 's' : ''} ${found.map((c) => `${c.id} "${c.name}"`).join(', ')} point${found.length > 1 ? '' : 's'} at this ThingWorx: stop ${found.length > 1 ? 'them' : 'it'} if tpx's bridge is to hold the Things.`,
      stopHosted(found),
    );
  }
  fix.push(
    `Keep one connector per key: stop the one that should not run (the competing ${others.map(describeSession).join('; ')}${others.some((s) => (s.numberBoundThings ?? 0) === 0) ? ': it holds no binds, they were refused' : ''}).`,
  );
  return item(
    'connectors',
    'failed',
    `${count.connectors} live connectors use ${keyWords(worst.key)}: ${listed}.${unknown}${otherWords}`,
    { fix: fix.flat() as Phrase, data: { ...data, competing: others.map((s) => s.endpointId), hosted: found } },
  );
}

export function hostedItem(hosted: HostedLookup, thingworxUrl: string, liveConnectors: number): CheckItem {
  if (!hosted.looked) {
    return item('hosted-connection', 'skipped', { id: 'thingpark-settings-needed' });
  }
  if (hosted.error !== undefined) {
    return item('hosted-connection', 'warned', `The ThingPark connections could not be listed: ${hosted.error}`, {
      fix: 'Check the ThingPark settings, or look for an active ThingWorx connection in the ThingPark web interface.',
    });
  }
  const target = hostPort(thingworxUrl);
  const where = target ? `${target.host}:${target.port}` : thingworxUrl;
  if (hosted.found.length === 0) {
    return item('hosted-connection', 'passed', `No active Actility-hosted ThingWorx connection points at ${where}.`);
  }
  const names = hosted.found.map((c) => `${c.id} "${c.name}" (${c.state ?? 'state unknown'})`).join(', ');
  return item(
    'hosted-connection',
    liveConnectors > 1 ? 'failed' : 'warned',
    `Active Actility-hosted ThingWorx connection ${names} points at ${where}: it binds the same Things as the bridge does.`,
    { fix: stopHosted(hosted.found), data: { connections: hosted.found } },
  );
}
