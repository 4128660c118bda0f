/**
 * The one HTTP request helper of tpx (ThingPark API, OAuth2 token endpoint, LRC downlinks, ThingWorx REST).
 *
 * Every call has a bounded wait: a connect timeout (the dispatcher's, see httpAgent()), a first-byte (headers)
 * timeout and a total time that covers every attempt, the backoff between them and reading the body. Retries
 * follow one policy (idempotent calls only, on network errors and on the statuses given), with the one backoff
 * (src/util/backoff.ts, with jitter), never past the total time. Failures without an HTTP answer are typed
 * errors with a stable code and data ({service, host, operation, phase, timeoutMs}); the CLI words them.
 * Speaks in data: reports start/end/retry through `onEvent`, never prints.
 */
import type { Dispatcher } from 'undici';
import { TpxError } from '../errors.js';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import { formatDuration } from './duration.js';

/** Default total time of one call: 30 s. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Default connect timeout of the agents made by httpAgent(): 10 s (capped by the total time of a call). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Where a call stood when it ran out of time. */
export type HttpPhase = 'connect' | 'headers' | 'body' | 'retry';

/** Data every HTTP failure carries (rendered by the CLI). */
export interface HttpErrorData {
  /** Who was called, for people: "ThingPark", "ThingWorx", "the ThingPark token endpoint", … */
  service: string;
  /** host[:port] called. */
  host: string;
  /** What the call was for, as a gerund phrase: "listing connections". */
  operation: string;
  /** The setting that names the URL called (config/keys.ts), so that the CLI can name its flag. */
  setting?: string;
  [k: string]: unknown;
}

export type HttpErrorCode =
  /** No answer within the total time. data: timeoutMs, phase. */
  | 'TPX_HTTP_TIMEOUT'
  /** https:// against a server that does not speak TLS (a plain-HTTP server). */
  | 'TPX_HTTP_NOT_TLS'
  /** The server's certificate is not trusted or not valid (data: errno). */
  | 'TPX_HTTP_CERTIFICATE'
  /** Any other failure without an answer: refused, unknown host, reset (data: errno). */
  | 'TPX_HTTP_UNREACHABLE';

export class HttpError extends TpxError {
  declare readonly code: HttpErrorCode;
  declare readonly details: HttpErrorData;
  constructor(code: HttpErrorCode, message: string, data: HttpErrorData, cause?: unknown) {
    super(code, message, { details: data, cause });
  }
}

export interface HttpEvent {
  type: 'start' | 'end' | 'retry';
  service: string;
  host: string;
  operation: string;
  method: string;
  url: string;
  /** 1-based. */
  attempt: number;
  /** end: the status (0 when none came). */
  status?: number;
  /** end: time taken by this attempt; retry: the delay before the next one. */
  ms?: number;
  /** retry: why (a status or an error code). */
  reason?: string;
}

export interface RetryPolicy {
  /** Retry at all (only calls without side effects, or whose repetition is harmless). */
  idempotent: boolean;
  /** Attempts in total (default 3), never past the total time. */
  attempts?: number;
  /** Statuses that are retried (default 429, 500, 502, 503, 504). */
  statuses?: ReadonlySet<number>;
  /** Backoff between attempts (default 250 ms doubling to 5 s, with jitter). Retry-After is honoured. */
  backoff?: BackoffOptions;
}

export interface HttpRequestOptions {
  method: Dispatcher.HttpMethod;
  url: string | URL;
  headers?: Record<string, string>;
  body?: string;
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
  /** Total time of the call, every attempt included (default 30 s); errors report it. */
  timeoutMs?: number;
  /** When a larger operation (token + call) shares one budget: its end (Date.now() ms). Default now + timeoutMs. */
  deadline?: number;
  /** For errors and events. */
  service: string;
  operation: string;
  setting?: string;
  retry?: RetryPolicy;
  onEvent?: (e: HttpEvent) => void;
  /** Injectable for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** An undici Agent with a bounded connect time and the TLS settings of one service (TLS 1.2 minimum). */
export async function httpAgent(
  o: { ca?: string | Buffer; insecure?: boolean; connectTimeoutMs?: number; connections?: number } = {},
): Promise<Dispatcher> {
  const { Agent } = await import('undici');
  return new Agent({
    connect: {
      ...(o.ca ? { ca: o.ca } : {}),
      minVersion: 'TLSv1.2',
      rejectUnauthorized: !o.insecure,
      timeout: o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    },
    ...(o.connections ? { connections: o.connections } : {}),
  });
}

function hostOf(url: URL): string {
  return url.host;
}

export function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function errnoOf(err: unknown): string {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string' && e.code !== '') return e.code;
    e = e.cause as typeof e;
  }
  return '';
}

function textOf(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.message === 'string') parts.push(e.message);
    e = e.cause as typeof e;
  }
  return parts.join(' ');
}

const CERT_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME_INVALID/;
const NOT_TLS = /wrong version number|WRONG_VERSION_NUMBER|packet length too long|record layer failure|http request/i;

/** True when a failure is about the server's certificate (never worth a retry). */
export function isCertificateFailure(err: unknown): boolean {
  return CERT_CODE.test(errnoOf(err));
}

/** The typed error for a request that got no answer (not a timeout). */
export function classifyNetworkError(err: unknown, data: HttpErrorData): HttpError {
  const errno = errnoOf(err);
  const text = textOf(err);
  if (CERT_CODE.test(errno)) {
    return new HttpError(
      'TPX_HTTP_CERTIFICATE',
      `The certificate of ${data.service} at ${data.host} is not trusted (${errno}).`,
      { ...data, errno },
      err,
    );
  }
  if (NOT_TLS.test(`${errno} ${text}`)) {
    return new HttpError(
      'TPX_HTTP_NOT_TLS',
      `${data.service} at ${data.host} does not speak TLS: a plain-HTTP server answered the https:// URL.`,
      { ...data, errno: errno || 'ERR_SSL_WRONG_VERSION_NUMBER' },
      err,
    );
  }
  const why = errno || text.split('\n')[0] || 'no answer';
  return new HttpError(
    'TPX_HTTP_UNREACHABLE',
    `Cannot reach ${data.service} at ${data.host} (${why}).`,
    { ...data, errno: why },
    err,
  );
}

function timeoutError(data: HttpErrorData, timeoutMs: number, phase: HttpPhase, cause?: unknown): HttpError {
  return new HttpError(
    'TPX_HTTP_TIMEOUT',
    `${data.service} at ${data.host} did not answer within ${formatDuration(timeoutMs)} (${data.operation}).`,
    { ...data, timeoutMs, phase },
    cause,
  );
}

function retryAfterMs(h: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0) return n * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/**
 * One HTTP call with bounded waits and the retry policy. Resolves with any HTTP answer (the caller decides what a
 * status means; retried statuses come back as the last answer when time or attempts run out). Rejects with an
 * HttpError when no answer came, or with the caller's abort reason when `signal` aborted.
 */
export async function httpRequest(o: HttpRequestOptions): Promise<HttpResponse> {
  const url = typeof o.url === 'string' ? new URL(o.url) : o.url;
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const data: HttpErrorData = {
    service: o.service,
    host: hostOf(url),
    operation: o.operation,
    ...(o.setting ? { setting: o.setting } : {}),
  };
  const deadline = o.deadline ?? Date.now() + timeoutMs;
  const policy = o.retry ?? { idempotent: false };
  const attempts = policy.idempotent ? Math.max(1, policy.attempts ?? 3) : 1;
  const statuses = policy.statuses ?? RETRY_STATUSES;
  const sleep = o.sleep ?? sleepFor;
  const backoff = (attempt: number) =>
    backoffDelay(attempt, { initialMs: 250, maxMs: 5000, ...policy.backoff }, o.random);
  const event = (e: Omit<HttpEvent, 'service' | 'host' | 'operation' | 'method' | 'url'>) =>
    o.onEvent?.({
      service: o.service,
      host: data.host,
      operation: o.operation,
      method: o.method,
      url: url.toString(),
      ...e,
    });

  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw timeoutError(data, timeoutMs, 'retry');
    const t0 = Date.now();
    event({ type: 'start', attempt });
    const r = await attemptOnce(o, url, remaining);
    event({ type: 'end', attempt, status: r.res?.status ?? 0, ms: Date.now() - t0 });
    if (!r.res) {
      const failure = failureOf(o, r, data, timeoutMs);
      const code = failure.code;
      const retriable = code === 'TPX_HTTP_UNREACHABLE' || code === 'TPX_HTTP_TIMEOUT';
      if (!retriable || attempt >= attempts) throw failure;
      const delay = backoff(attempt);
      if (Date.now() + delay >= deadline) throw failure;
      event({ type: 'retry', attempt, ms: delay, reason: errnoOf(r.failure) || code });
      await sleep(delay, o.signal);
      continue;
    }
    const answer = r.res;
    if (!statuses.has(answer.status) || attempt >= attempts) return answer;
    const delay = retryAfterMs(answer.headers['retry-after'], Date.now()) ?? backoff(attempt);
    if (Date.now() + delay >= deadline) return answer;
    event({ type: 'retry', attempt, ms: delay, reason: `HTTP ${answer.status}` });
    await sleep(delay, o.signal);
  }
}

/** One attempt, aborted when `remaining` ms have passed: the answer, or what failed and in which phase. */
async function attemptOnce(
  o: HttpRequestOptions,
  url: URL,
  remaining: number,
): Promise<{ res?: HttpResponse; failure?: unknown; timedOut: boolean; phase: HttpPhase }> {
  const { request } = await import('undici');
  const ctl = new AbortController();
  let timedOut = false;
  let phase: HttpPhase = 'headers';
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort(new Error('timeout'));
  }, remaining);
  const signal = o.signal ? AbortSignal.any([o.signal, ctl.signal]) : ctl.signal;
  try {
    const r = await request(url, {
      method: o.method,
      headers: o.headers,
      body: o.body,
      dispatcher: o.dispatcher,
      signal,
      headersTimeout: remaining,
      bodyTimeout: remaining,
    });
    phase = 'body';
    const text = await r.body.text();
    return { res: { status: r.statusCode, headers: r.headers as HttpResponse['headers'], text }, timedOut, phase };
  } catch (err) {
    return { failure: err, timedOut, phase };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The error of a failed attempt: the caller's abort reason and timeouts of the whole call are thrown at once;
 * otherwise an HttpError the loop may retry (the agent's connect timeout, a network failure).
 */
function failureOf(
  o: HttpRequestOptions,
  r: { failure?: unknown; timedOut: boolean; phase: HttpPhase },
  data: HttpErrorData,
  timeoutMs: number,
): HttpError {
  const { failure } = r;
  if (o.signal?.aborted) throw o.signal.reason ?? failure;
  const errno = errnoOf(failure);
  if (r.timedOut || errno === 'UND_ERR_HEADERS_TIMEOUT' || errno === 'UND_ERR_BODY_TIMEOUT') {
    throw timeoutError(data, timeoutMs, r.phase, failure);
  }
  // the connect timeout of the agent: retried like any network failure while time remains
  if (errno === 'UND_ERR_CONNECT_TIMEOUT') return timeoutError(data, timeoutMs, 'connect', failure);
  return classifyNetworkError(failure, data);
}
