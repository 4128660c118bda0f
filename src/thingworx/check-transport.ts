/**
 * The first two check items: the host answers on TCP, and it offers TLS 1.2 or newer with a certificate that is
 * trusted, matches the host name and is valid (days to expiry). Works on sockets (node:net, node:tls) so that it
 * can tell "plain HTTP on this port" and "only TLS 1.1" apart from a bad certificate.
 */
import { connect as netConnect } from 'node:net';
import { checkServerIdentity, type PeerCertificate, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { formatDuration, formatElapsed } from '../util/duration.js';
import { type CheckItem, item } from './check-types.js';
import { FIX } from './fixes.js';

export interface TransportResult {
  items: CheckItem[];
  /** How the REST checks may go on: over TLS, over the plain http:// URL the user gave, or not at all. */
  mode: 'tls' | 'plain' | 'blocked';
  /** Why the remaining checks are skipped when mode is blocked. */
  blockedReason?: string;
}

const WARN_DAYS = 14;

function hostPort(url: URL): { host: string; port: number } {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
  return { host, port };
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<{ ms: number } | { error: string }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const s = netConnect({ host, port });
    s.setTimeout(timeoutMs, () => {
      s.destroy();
      resolve({ error: `no answer within ${formatDuration(timeoutMs)}` });
    });
    s.once('connect', () => {
      s.destroy();
      resolve({ ms: Date.now() - started });
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

/** Whether plain HTTP answers on the port (an HTTP status line to a HEAD request), within `timeoutMs`. */
function plainHttpAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host, port });
    const done = (yes: boolean) => {
      s.destroy();
      resolve(yes);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => s.write(`HEAD / HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    s.once('data', (d: Buffer) => done(d.subarray(0, 5).toString('latin1') === 'HTTP/'));
    s.once('error', () => done(false));
    s.once('end', () => done(false));
  });
}

interface TlsOutcome {
  protocol?: string | null;
  authorized?: boolean;
  authError?: string;
  cert?: PeerCertificate;
  error?: NodeJS.ErrnoException;
}

function tlsProbe(
  host: string,
  port: number,
  o: { ca?: string | Buffer; timeoutMs: number; legacy?: boolean },
): Promise<TlsOutcome> {
  return new Promise((resolve) => {
    const isIp = /^[\d.]+$|:/.test(host);
    let s: TLSSocket;
    try {
      s = tlsConnect({
        host,
        port,
        ...(isIp ? {} : { servername: host }),
        ...(o.ca ? { ca: o.ca } : {}),
        rejectUnauthorized: false,
        ...(o.legacy
          ? { minVersion: 'TLSv1' as const, ciphers: 'DEFAULT@SECLEVEL=0' }
          : { minVersion: 'TLSv1.2' as const }),
      });
    } catch (err) {
      resolve({ error: err as NodeJS.ErrnoException });
      return;
    }
    s.setTimeout(o.timeoutMs, () => {
      s.destroy();
      resolve({
        error: Object.assign(new Error(`no TLS answer within ${formatDuration(o.timeoutMs)}`), { code: 'ETIMEDOUT' }),
      });
    });
    s.once('secureConnect', () => {
      const out: TlsOutcome = {
        protocol: s.getProtocol(),
        authorized: s.authorized,
        authError: s.authorizationError ? String(s.authorizationError) : undefined,
        cert: s.getPeerCertificate(),
      };
      s.destroy();
      resolve(out);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ error: e }));
  });
}

export async function checkTransport(
  url: URL,
  o: { ca?: string | Buffer; insecure?: boolean; timeoutMs: number; now: Date },
): Promise<TransportResult> {
  const { host, port } = hostPort(url);
  const tcp = await tcpProbe(host, port, o.timeoutMs);
  if ('error' in tcp) {
    return {
      items: [item('reachable', 'failed', `${host}:${port} did not answer (${tcp.error}).`, { fix: FIX.unreachable })],
      mode: 'blocked',
      blockedReason: 'the host is not reachable',
    };
  }
  const reachable = item('reachable', 'passed', `${host}:${port} answered in ${formatElapsed(tcp.ms)}.`);
  if (url.protocol === 'http:') {
    return {
      items: [
        reachable,
        item('tls', 'failed', `${url.origin} is plain HTTP: the connector requires WSS over TLS 1.2.`, {
          fix: FIX.tls,
        }),
      ],
      mode: 'plain',
    };
  }
  const t = await tlsProbe(host, port, o);
  if (t.error) return { items: [reachable, await tlsFailure(host, port, t.error, o)], ...blocked('TLS failed') };
  return certificateResult(reachable, host, t, o);
}

/** The TLS item once the handshake worked: the certificate trusted, naming the host, not about to expire. */
function certificateResult(
  reachable: CheckItem,
  host: string,
  t: TlsOutcome,
  o: { insecure?: boolean; now: Date },
): TransportResult {
  const cert = t.cert;
  const validTo = cert?.valid_to ? new Date(cert.valid_to) : undefined;
  const days = validTo ? Math.floor((validTo.getTime() - o.now.getTime()) / 86_400_000) : undefined;
  const data = { protocol: t.protocol, validTo: validTo?.toISOString(), daysLeft: days, subject: cert?.subject?.CN };
  const until = validTo ? `valid until ${validTo.toISOString().slice(0, 10)} (${days} days)` : 'validity unknown';
  if (o.insecure) {
    return {
      items: [
        reachable,
        item('tls', 'warned', [`${t.protocol};`, { id: 'not-verified' }, `${until}.`], {
          fix: FIX.certificate,
          data,
        }),
      ],
      mode: 'tls',
    };
  }
  if (!t.authorized) {
    const code = t.authError ?? 'not trusted';
    const expired = /CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/.test(code);
    return {
      items: [
        reachable,
        item(
          'tls',
          'failed',
          `${t.protocol}, but the certificate is ${expired ? 'not valid now' : 'not trusted'} (${code}).`,
          {
            fix: expired ? FIX.certificateExpired : FIX.certificate,
            data,
          },
        ),
      ],
      ...blocked('the certificate is not trusted (tpx does not send the application key to an unverified server)'),
    };
  }
  const identity = cert ? checkServerIdentity(host, cert) : undefined;
  if (identity) {
    return {
      items: [
        reachable,
        item('tls', 'failed', `The certificate does not name ${host} (${identity.message}).`, {
          fix: 'Connect with the host name the certificate was issued for, or install a certificate for this name.',
          data,
        }),
      ],
      ...blocked('the certificate does not match the host name'),
    };
  }
  if (days !== undefined && days < WARN_DAYS) {
    return {
      items: [
        reachable,
        item('tls', 'warned', `${t.protocol}, certificate ${until}: renew it soon.`, {
          fix: `Renew the ThingWorx server certificate before ${validTo?.toISOString().slice(0, 10)}.`,
          data,
        }),
      ],
      mode: 'tls',
    };
  }
  return { items: [reachable, item('tls', 'passed', `${t.protocol}, certificate ${until}.`, { data })], mode: 'tls' };
}

function blocked(reason: string): { mode: 'blocked'; blockedReason: string } {
  return { mode: 'blocked', blockedReason: reason };
}

async function tlsFailure(
  host: string,
  port: number,
  err: NodeJS.ErrnoException,
  o: { ca?: string | Buffer; timeoutMs: number },
): Promise<CheckItem> {
  const text = `${err.code ?? ''} ${err.message}`;
  // A plain-HTTP server may answer the ClientHello with an HTTP error, or close the connection at once: a reset
  // is then told apart by asking the port in plain HTTP.
  const plain =
    /wrong version number|packet length too long|http request/i.test(text) ||
    (err.code === 'ECONNRESET' && (await plainHttpAnswers(host, port, o.timeoutMs)));
  if (plain) {
    return item('tls', 'failed', `${host}:${port} does not speak TLS (plain HTTP answered the handshake).`, {
      fix: FIX.tls,
      data: { error: err.code ?? err.message },
    });
  }
  if (/protocol version|unsupported protocol|handshake failure|no protocols available/i.test(text)) {
    const legacy = await tlsProbe(host, port, { ...o, legacy: true });
    const offered = legacy.protocol ? `only ${legacy.protocol}` : 'no TLS version tpx accepts';
    return item('tls', 'failed', `${host}:${port} offers ${offered}: TLS 1.2 or newer is required.`, {
      fix: FIX.tls,
      data: { error: err.code ?? err.message, offered: legacy.protocol ?? null },
    });
  }
  if (err.code === 'ETIMEDOUT') {
    // A platform that accepts the connection and then says nothing (frozen, overloaded, or a proxy holding it): not
    // a TLS set-up problem, and the fix is not about enabling TLS.
    return item(
      'tls',
      'failed',
      `${host}:${port} accepted the connection but did not answer the TLS handshake within ${formatDuration(o.timeoutMs)}.`,
      { fix: FIX.silent, data: { error: err.code } },
    );
  }
  return item('tls', 'failed', `The TLS handshake with ${host}:${port} failed (${err.code ?? err.message}).`, {
    fix: FIX.tls,
    data: { error: err.code ?? err.message },
  });
}
