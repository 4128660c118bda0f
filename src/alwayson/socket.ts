/**
 * Opening the AlwaysOn WebSocket (research/alwayson.md §1): wss only, TLS 1.2 minimum, certificate verification on
 * unless `insecure`, the `appKey` and `Max-Frame-Size` upgrade headers, no compression, no subprotocol.
 */
import WebSocket from 'ws';
import { formatDuration } from '../util/duration.js';
import { AlwaysOnOptionsError, AuthFailedError, ConnectError } from './errors.js';

export interface SocketOptions {
  appKey: string;
  ca?: string | Buffer | Array<string | Buffer>;
  insecure?: boolean;
  /** Largest frame we accept; also sent as Max-Frame-Size (§1.2). */
  chunkSize: number;
  /** Largest WebSocket message accepted (reassembled frames). */
  maxPayload: number;
  connectTimeoutMs: number;
  /** Aborts the opening (the client closed meanwhile): the socket is destroyed, the promise rejects with the reason. */
  signal?: AbortSignal;
}

/**
 * The AlwaysOn URL for what users configure: `https://host:port` (TPX_THINGWORX_URL), `https://host/Thingworx`,
 * or a full `wss://host:port/Thingworx/WS`. Plain ws:// and http:// are refused: the platform requires TLS.
 */
export function alwaysOnUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new AlwaysOnOptionsError(
      `Not a URL: ${input}`,
      { id: 'setting-url', setting: 'thingworxUrl', format: 'https://host:port' },
      { setting: 'thingworxUrl', got: input },
    );
  }
  if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'wss:') {
    throw new AlwaysOnOptionsError(
      `The AlwaysOn connection needs TLS (wss:// or https://), not ${url.protocol}//.`,
      'Use the https:// address of the platform; ThingWorx requires WebSocket Secure over TLS 1.2.',
    );
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (path === '' || path === '/') url.pathname = '/Thingworx/WS';
  else if (/^\/thingworx$/i.test(path)) url.pathname = `${path}/WS`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

/**
 * The masking key of every frame we send: zero, as PTC's C SDK sends (research/alwayson.md §1.4: mask bit set, key
 * 00 00 00 00). ws then sends the payload as it is instead of XOR-ing it byte by byte in JavaScript (about 2 µs of
 * a push). Masking guards plain-text intermediaries against client-chosen bytes; this socket is always TLS.
 */
const zeroMask = (mask: Buffer): void => {
  mask.fill(0);
};

/**
 * Opens the socket; resolves when the upgrade succeeded, rejects with ConnectError otherwise, or with the signal's
 * reason when it aborted (nothing of the opening is left behind: no socket, no timer).
 */
export function openSocket(url: string, options: SocketOptions): Promise<WebSocket> {
  const signal = options.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: { appKey: options.appKey, 'Max-Frame-Size': String(options.chunkSize), 'User-Agent': 'tpx' },
      ca: options.ca,
      rejectUnauthorized: !options.insecure,
      minVersion: 'TLSv1.2',
      handshakeTimeout: options.connectTimeoutMs,
      perMessageDeflate: false,
      maxPayload: options.maxPayload,
      followRedirects: false,
      generateMask: zeroMask,
    });
    const fail = (error: unknown, as = false): void => {
      cleanup();
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      reject(as || error instanceof AuthFailedError ? error : new ConnectError(url, error));
    };
    const onAbort = (): void => fail(signal?.reason, true);
    const onOpen = (): void => {
      cleanup();
      resolve(ws);
    };
    // Our own limit over the whole opening (TCP, TLS, upgrade): ws's handshakeTimeout is a socket idle timeout,
    // which a platform that accepted the connection and then froze takes twice as long to trip.
    const timer = setTimeout(
      () =>
        fail(new Error(`no answer within ${formatDuration(options.connectTimeoutMs)} (opening handshake timed out)`)),
      options.connectTimeoutMs,
    );
    const onError = (error: Error): void => fail(error);
    const onUnexpected = (_req: unknown, res: { statusCode?: number; statusMessage?: string }): void => {
      const status = res.statusCode ?? 0;
      const text = `HTTP ${status || '?'} ${res.statusMessage ?? ''}`.trim();
      // The platform may check the appKey upgrade header and refuse the upgrade itself.
      if (status === 401 || status === 403) fail(new AuthFailedError(null, `${text} on the WebSocket upgrade`));
      else fail(new Error(`${text} instead of a WebSocket upgrade`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      ws.off('open', onOpen);
      ws.off('error', onError);
      ws.off('unexpected-response', onUnexpected);
    };
    ws.on('open', onOpen);
    ws.on('error', onError);
    ws.on('unexpected-response', onUnexpected);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
