/**
 * Typed errors of the AlwaysOn client and pool. Every one is a TpxError with a stable code.
 * `retryable` tells the caller (the bridge) whether sending the same thing again later can succeed.
 */
import { type Phrase, TpxError } from '../errors.js';
import { formatDuration } from '../util/duration.js';

export class AlwaysOnError extends TpxError {
  /** True when the same operation may succeed later (socket lost, timeout, platform busy). */
  readonly retryable: boolean;
  constructor(
    code: string,
    message: string,
    options: { fix?: Phrase; cause?: unknown; details?: Record<string, unknown>; retryable?: boolean } = {},
  ) {
    super(code, message, options);
    this.retryable = options.retryable ?? false;
  }
}

/** The socket went away (or was not up) before the platform answered. Retryable. */
export class DisconnectedError extends AlwaysOnError {
  constructor(
    message = 'The AlwaysOn connection was lost before the platform answered.',
    cause?: unknown,
    failure?: FailureCause,
  ) {
    super('TPX_ALWAYSON_DISCONNECTED', message, {
      fix: 'The client reconnects by itself; send the message again once the pipe is up.',
      cause,
      retryable: true,
      ...(failure ? { details: { failure } } : {}),
    });
  }
}

/** No answer within the request timeout. Retryable. */
export class RequestTimeoutError extends AlwaysOnError {
  constructor(what: string, timeoutMs: number) {
    super('TPX_ALWAYSON_TIMEOUT', `${what}: no answer from ThingWorx within ${formatDuration(timeoutMs)}.`, {
      fix: 'Check the platform load and network; raise the request timeout if the platform is slow.',
      retryable: true,
      details: { timeoutMs },
    });
  }
}

/** Too many requests already wait (maxQueued): the caller should slow down. Retryable. */
export class BusyError extends AlwaysOnError {
  constructor(queued: number) {
    super('TPX_ALWAYSON_BUSY', `${queued} requests already wait for the AlwaysOn connection.`, {
      fix: { id: 'alwayson-busy' },
      retryable: true,
      details: { queued, setting: 'pipeCount' },
    });
  }
}

/**
 * A push (or BIND) the caller withdrew: its `stillValid` said no when its turn to be written came (it had waited for
 * a free slot, or the process was paused). Nothing was sent. Not retryable as such: the caller knows why.
 */
export class PushWithdrawnError extends AlwaysOnError {
  constructor(what: string) {
    super('TPX_ALWAYSON_WITHDRAWN', `${what}: withdrawn before it was sent.`, {
      fix: 'Nothing to send again here: the caller withdrew it (a fleet bridge that lost the queue; its new owner delivers it).',
    });
  }
}

/** The platform answered a request with a non-success status. */
export class RequestFailedError extends AlwaysOnError {
  readonly status: number;
  readonly statusName: string;
  readonly reason: string | null;
  constructor(what: string, status: number, statusName: string, reason: string | null) {
    super(
      'TPX_ALWAYSON_REQUEST_FAILED',
      `${what}: ThingWorx answered ${statusName} (0x${status.toString(16)})${reason ? `: ${reason}` : ''}.`,
      {
        fix:
          status >= 0xa0
            ? 'The platform had a problem; it is retried later. See the ThingWorx application log.'
            : 'Check that the Thing exists, is a RemoteThing, and the app key user may use it.',
        retryable: status >= 0xa0,
        details: { status, statusName, reason },
      },
    );
    this.status = status;
    this.statusName = statusName;
    this.reason = reason;
  }
}

/** AUTH was refused: the app key is wrong, expired, or its user is disabled. Not retryable. */
export class AuthFailedError extends AlwaysOnError {
  constructor(status: number | null, reason: string | null) {
    super(
      'TPX_AUTH_FAILED',
      `ThingWorx refused the application key on the AlwaysOn connection${reason ? `: ${reason}` : ''}.`,
      {
        fix: { id: 'alwayson-auth' },
        details: { status, reason, setting: 'thingworxAppKey' },
      },
    );
  }
}

/** The client or pool was closed. Not retryable on this instance. */
export class ClientClosedError extends AlwaysOnError {
  constructor() {
    super('TPX_ALWAYSON_CLOSED', 'The AlwaysOn client is closed.', {
      fix: 'Start a new client; this one was closed by its owner.',
    });
  }
}

/** The WebSocket could not be opened (DNS, TCP, TLS, HTTP upgrade). Retryable. */
export class ConnectError extends AlwaysOnError {
  constructor(url: string, cause: unknown) {
    const text = cause instanceof Error ? cause.message : String(cause);
    const tls = /certificate|self.signed|SSL|TLS|protocol version|unable to verify/i.test(text);
    super('TPX_ALWAYSON_CONNECT', `Could not open the AlwaysOn WebSocket to ${url}: ${text}`, {
      fix: { id: 'alwayson-connect', tls },
      cause,
      details: { url, tls, setting: tls ? 'thingworxCa' : 'thingworxUrl' },
      retryable: true,
    });
  }
}

/** The reference document's explanation: a connection ghost on the platform holds the binds. */
const LAST_IN_WINS_FIX =
  'It is probably a connection ghost on the ThingWorx side (an earlier session still holding the binds). On ' +
  'ThingWorx, set the option "Last in wins": Subsystems > WSCommunicationsSubsystem > Configuration > Bind ' +
  'Protection Policy; or stop the other client and wait for its session to time out (60s).';

/**
 * The platform refused to bind some Things (ThingWorx logs "Binding failed ... V1BindMessage"). With the default
 * Bind Protection Policy "First in wins" this happens when another connection already holds the Thing.
 */
export class BindRejectedError extends AlwaysOnError {
  /** The names the platform refused. */
  readonly names: string[];
  /** The names bound fine in the same call. */
  readonly bound: string[];
  readonly status: number | null;
  readonly reason: string | null;
  constructor(names: string[], bound: string[], status: number | null, reason: string | null) {
    const shown = names.slice(0, 10).join(', ') + (names.length > 10 ? `, … (${names.length} in all)` : '');
    const missing = status === 0x84;
    super(
      'TPX_BIND_REJECTED',
      missing
        ? `ThingWorx refused to bind ${names.length} Thing(s) it does not know as Remote Things: ${shown}.`
        : `ThingWorx refused to bind ${names.length} Thing(s): ${shown}. This is the platform's "Binding failed": ` +
            'with the Bind Protection Policy "First in wins" it refuses Things another connection is bound to.',
      {
        fix: missing
          ? 'Create these Things from a template based on RemoteThing (the bridge creates them when it may), then bind again.'
          : LAST_IN_WINS_FIX,
        details: { names, bound: bound.length, status, reason },
      },
    );
    this.names = names;
    this.bound = bound;
    this.status = status;
    this.reason = reason;
  }
}

/** Invalid options given to the client or pool (programming or configuration error). */
export class AlwaysOnOptionsError extends AlwaysOnError {
  constructor(message: string, fix: Phrase, details?: Record<string, unknown>) {
    super('TPX_ALWAYSON_OPTIONS', message, { fix, details });
  }
}

/** A client state change its transition table does not allow (a bug in the client, never a platform fault). */
export class IllegalTransitionError extends AlwaysOnError {
  readonly from: string;
  readonly to: string;
  constructor(from: string, to: string) {
    super('TPX_ALWAYSON_STATE', `The AlwaysOn client cannot go from ${from} to ${to}.`, {
      fix: 'This is a bug in tpx: report it with the log lines before this one.',
      details: { from, to },
    });
    this.from = from;
    this.to = to;
  }
}

/**
 * Why a connection failed or was lost, as a short stable code (for logs and metric labels: a bounded set, never a
 * message). `failureCause()` derives it from any error the client meets.
 */
export type FailureCause =
  | 'auth_refused'
  | 'auth_timeout'
  | 'auth_unavailable'
  | 'upgrade_refused'
  | 'tls'
  | 'connect_refused'
  | 'connect_timeout'
  | 'ping_timeout'
  | 'frame_too_large'
  | 'bad_frame'
  | 'closed_by_platform'
  | 'socket_error'
  | 'request_timeout'
  /** A request was withdrawn while the requests of its turn were being written: the socket was dropped unwritten. */
  | 'withdrawn'
  | 'unknown';

/** The stable cause code of a connection failure (see FailureCause). */
export function failureCause(error: unknown): FailureCause {
  if (error instanceof AuthFailedError) return 'auth_refused';
  const details = (error as { details?: Record<string, unknown> } | null)?.details;
  if (typeof details?.failure === 'string') return details.failure as FailureCause;
  if (error instanceof RequestTimeoutError) return 'request_timeout';
  if (error instanceof ConnectError) {
    const text = String((error.cause as Error | undefined)?.message ?? error.message);
    if (details?.tls) return 'tls';
    if (/^HTTP \d|HTTP \?/.test(text) || /Unexpected server response/.test(text)) return 'upgrade_refused';
    if (/timed out|timeout/i.test(text)) return 'connect_timeout';
    return 'connect_refused';
  }
  if (error instanceof DisconnectedError) return wsCause(error.cause) ?? 'socket_error';
  return wsCause(error) ?? 'unknown';
}

/** ws's own error codes (WS_ERR_*) for frames it refused. */
function wsCause(error: unknown): FailureCause | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('WS_ERR_')) return null;
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH') {
    return 'frame_too_large';
  }
  return 'bad_frame';
}

/** Why a frame from the platform was dropped (stable codes for logs and metric labels). */
export type ProtocolErrorCause = 'bad_message' | 'text_frame' | 'incomplete_multipart' | 'bad_answer';
