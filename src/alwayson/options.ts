/** Options, defaults and events of one AlwaysOn connection (AlwaysOnClient). */
import type { BackoffOptions } from '../util/backoff.js';
import {
  type AlwaysOnError,
  AlwaysOnOptionsError,
  type BindRejectedError,
  type FailureCause,
  type ProtocolErrorCause,
} from './errors.js';
import { alwaysOnUrl } from './socket.js';

export interface AlwaysOnClientOptions {
  /** `https://host:port` (the thingworxUrl setting) or `wss://host:port/Thingworx/WS`. */
  url: string;
  /** Application key, sent as the `appKey` upgrade header and in the AUTH message. */
  appKey: string;
  /** PEM CA certificate(s) to trust (TPX_THINGWORX_CA). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Skip certificate verification (emits a 'warning' event). Never in production. */
  insecure?: boolean;
  /** Timeout for every request, BIND and AUTH, ms (default 10 000). */
  requestTimeoutMs?: number;
  /** TCP + TLS + upgrade timeout, ms (default 10 000). */
  connectTimeoutMs?: number;
  /** Largest frame sent or accepted; bigger messages go multipart (default 8192). */
  chunkSize?: number;
  /** Largest whole (reassembled) message (default 1 MiB). */
  maxMessageSize?: number;
  /** Requests outstanding at once before callers queue (default 1000). */
  maxInFlight?: number;
  /** Callers that may wait for a slot (or for the connection) before new ones fail with BusyError (default 50 000). */
  maxQueued?: number;
  /** Longest time between two WebSocket pings, ms (default 55 000, under the platform's 60 s idle timeout). */
  pingIntervalMs?: number;
  /**
   * Longest silence of the platform (no frame, no pong) before the socket counts as dead and is reconnected, ms
   * (default 5 000). A ping goes out after half of it without a sign of life. See keepalive.ts.
   */
  pingDeadlineMs?: number;
  /** Former name of pingDeadlineMs (used when pingDeadlineMs is not given). */
  pongTimeoutMs?: number;
  /** Reconnect delays (default RECONNECT_BACKOFF: 250 ms doubling up to 5 s, 50 % jitter). */
  reconnect?: BackoffOptions;
  /** Send UNBIND for every bound Thing before closing (default true, as the C SDK does). */
  unbindOnClose?: boolean;
  /** Label carried in events (the pool uses the pipe index). */
  label?: number;
}

export type ClientState = 'idle' | 'connecting' | 'authenticating' | 'binding' | 'ready' | 'closed';

/**
 * Reconnect delays of a pipe: short and capped, so that a pipe is back within seconds of the platform's return
 * (a 30 s cap made recovery after a short outage take up to 26 s), with jitter so that many pipes and bridges do
 * not reconnect in step.
 */
export const RECONNECT_BACKOFF: Readonly<Required<BackoffOptions>> = {
  initialMs: 250,
  maxMs: 5_000,
  factor: 2,
  jitter: 0.5,
};

/** Events emitted by AlwaysOnClient (and re-emitted by the pool with a `pipe` field). */
export interface ClientEvents {
  /** Authenticated and every Thing bound: requests flow. */
  up: [{ sessionId: number; bound: number }];
  /** The socket went away (`cause` says why); outstanding requests were failed with DisconnectedError. */
  down: [{ error: Error; failed: number; cause: FailureCause }];
  /** A reconnect attempt is scheduled, after a loss or a failed attempt (`cause`: why the last one failed). */
  reconnect: [{ attempt: number; delayMs: number; error: Error; cause: FailureCause }];
  /**
   * The client gave up for good: a failure waiting cannot cure (ThingWorx refused the application key). It is
   * closed; pending and later requests fail with ClientClosedError.
   */
  failed: [{ error: AlwaysOnError; cause: FailureCause }];
  /** Things the platform refused to bind (on bind() and on re-bind after a reconnect). */
  'bind.rejected': [BindRejectedError];
  /**
   * Things refused when bound again after a reconnect (emitted after 'bind.rejected'). They are no longer bound:
   * bind them again later (e.g. once a ghost session is closed or the policy is "Last in wins").
   */
  'rebind.rejected': [BindRejectedError];
  /** The platform stayed silent (no frame, no pong) for `silentMs` >= the deadline: dropped and reconnected. */
  'ping.timeout': [{ pongTimeoutMs: number; silentMs: number }];
  /** The platform asks the edge to (re)synchronise a Thing (NotifyPropertyUpdate, SynchronizeModelState). */
  'thing.sync': [{ thing: string; service: string }];
  /** A platform → edge request was answered (handler errors are reported here too). */
  'platform.request': [{ method: string; thing: string; name: string; code: string; error?: unknown }];
  /**
   * A frame dropped (`cause`: bad_message that does not decode, text_frame, incomplete_multipart chunks that never
   * completed, bad_answer that could not be encoded); a matching pending request is failed.
   */
  'protocol.error': [{ error: Error; cause: ProtocolErrorCause }];
  /** Something the operator should know (e.g. certificate verification off). */
  warning: [{ code: string; message: string }];
}

export type ResolvedOptions = Required<Omit<AlwaysOnClientOptions, 'ca' | 'label' | 'reconnect'>> &
  Pick<AlwaysOnClientOptions, 'ca' | 'reconnect'>;

function positive(name: string, value: number | undefined, fallback: number, min = 1, max = 2 ** 31 - 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new AlwaysOnOptionsError(
      `${name} ${String(v)} is out of range.`,
      `Give ${name} a whole number from ${min} to ${max}.`,
    );
  }
  return v;
}

/** Checks the options and fills in the defaults. Throws AlwaysOnOptionsError on a bad value. */
export function resolveOptions(options: AlwaysOnClientOptions): ResolvedOptions {
  const url = alwaysOnUrl(options.url);
  if (!options.appKey) {
    const setting = 'thingworxAppKey';
    throw new AlwaysOnOptionsError(
      'No ThingWorx application key given.',
      { id: 'setting-missing', setting },
      { setting },
    );
  }
  return {
    url,
    appKey: options.appKey,
    ca: options.ca,
    insecure: options.insecure ?? false,
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, 10_000),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 10_000),
    chunkSize: positive('chunkSize', options.chunkSize, 8192, 256, 65535),
    maxMessageSize: positive('maxMessageSize', options.maxMessageSize, 1024 * 1024, 1024),
    maxInFlight: positive('maxInFlight', options.maxInFlight, 1000),
    maxQueued: positive('maxQueued', options.maxQueued, 50_000, 0),
    pingIntervalMs: positive('pingIntervalMs', options.pingIntervalMs, 55_000),
    pingDeadlineMs: positive('pingDeadlineMs', options.pingDeadlineMs ?? options.pongTimeoutMs, 5_000, 2),
    pongTimeoutMs: positive('pingDeadlineMs', options.pingDeadlineMs ?? options.pongTimeoutMs, 5_000, 2),
    reconnect: { ...RECONNECT_BACKOFF, ...options.reconnect },
    unbindOnClose: options.unbindOnClose ?? true,
  };
}
