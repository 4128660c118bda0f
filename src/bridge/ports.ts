/**
 * The bridge's ports: small interfaces the bridge core depends on. Adapters (adapters.ts) connect them to the
 * real modules (alwayson pool, ThingWorx REST, ThingPark tunnel); tests use in-memory fakes.
 */
import type { TwValue } from '../alwayson/codec/types.js';
import type { DownlinkRequest } from '../thingpark/downlink-document.js';
import type { PlatformRequest, ReportKind } from './events.js';

/** One ThingPark tunnel report, validated and normalised (DevEUI upper case). */
export interface TunnelReport {
  kind: ReportKind;
  /** Upper-case DevEUI (16 hex). */
  devEui: string;
  /** `Time` as written in the document (ISO 8601). */
  time: string;
  /** `Time` as epoch milliseconds. */
  timeMs: number;
  fport?: number;
  fcntUp?: number;
  fcntDn?: number;
  /** Lower-case hex. */
  payloadHex?: string;
  rssi?: number;
  snr?: number;
  /** Top-level Lrrid: the base station ThingPark chose as the best. */
  lrrId?: string;
  /** Lrrs.Lrr[]: every base station that heard the frame. */
  lrrs?: { lrrId: string; rssi?: number; snr?: number }[];
  spreadingFactor?: number;
  customerId?: string;
  /** DevEUI_notification Type (reset, join, devstatusans...). */
  notificationType?: string;
  correlationId?: string;
  deliveryStatus?: number;
  deliveryFailedCause?: string;
  /** Late=1: queued by the base station during a backhaul outage. */
  late?: boolean;
  /** The document as received ({"DevEUI_uplink": {...}}). */
  document: Record<string, unknown>;
}

/** Thrown by ReportCodec.parse for a document that is not a valid tunnel report. */
export class ReportError extends Error {
  constructor(
    readonly reason: 'bad_document' | 'bad_hex',
    message: string,
  ) {
    super(message);
    this.name = 'ReportError';
  }
}

/** Decoded query parameters (percent escapes only: a literal `+` stays `+`). */
export type TunnelQuery = Record<string, string | undefined>;

export type TokenCheck = { ok: true } | { ok: false; reason: 'missing_token' | 'bad_token'; message: string };

/** Parses and verifies tunnel reports (thingpark/messages.ts + thingpark/tunnel.ts). */
export interface ReportCodec {
  /** Validates a JSON-decoded body; throws ReportError when it is not a valid report. */
  parse(body: unknown): TunnelReport;
  /** Checks the query's AS_ID, Time and Token against the report and the AS key. */
  verify(report: TunnelReport, query: TunnelQuery, asKey: string, asId?: string): TokenCheck;
}

export interface PropertyUpdate {
  name: string;
  value: TwValue;
  /** Epoch milliseconds. */
  time?: number;
  quality?: string;
}

export interface PropertyWrite {
  thing: string;
  property: string;
  value: TwValue;
}

export type SinkStatus =
  | {
      type: 'up' | 'down' | 'reconnect';
      pipe?: number;
      error?: string;
      /** Why (down, reconnect): a stable cause code (alwayson FailureCause), e.g. auth_timeout, ping_timeout. */
      cause?: string;
      /** reconnect: the attempt number and the delay before it. */
      attempt?: number;
      delayMs?: number;
    }
  /** Things the platform refused to bind again after a reconnect: they are unbound until bound again. */
  | { type: 'unbound'; pipe?: number; names: string[]; error: string }
  /** The sink gave up for good (e.g. the application key refused): waiting will not help. */
  | { type: 'failed'; pipe?: number; error: Error; cause: string }
  /** A frame from the platform was dropped (`cause`: bad_message, text_frame, incomplete_multipart, bad_answer). */
  | { type: 'protocol.error'; pipe?: number; cause: string; error: string }
  /** The platform stayed silent past the deadline: the pipe is dropped and reconnected. */
  | { type: 'ping.timeout'; pipe?: number; silentMs: number; deadlineMs: number }
  /** The platform asked to synchronise a Thing. */
  | { type: 'thing.sync'; pipe?: number; thing: string; service: string }
  /** A platform -> edge request answered with `code` (a status name such as SUCCESS, BAD_REQUEST). */
  | ({ type: 'platform.request' } & PlatformRequest)
  /** The platform refused to bind Things (each is also reported by the caller of bind()). */
  | { type: 'bind.rejected'; pipe?: number; names: string[]; error: string }
  /** Something the operator should know (e.g. TLS verification off). */
  | { type: 'warning'; code: string; message: string };

/** How a push or a bind may be withdrawn before it is written (a fleet bridge that lost the device's queue meanwhile). */
export interface SinkPushOptions {
  stillValid?: () => boolean;
}

/** The ThingWorx AlwaysOn side (alwayson/pool). */
export interface ThingWorxSink {
  start(): Promise<void>;
  /**
   * Binds Things; names the platform refused are returned (not thrown), other failures reject. `options.stillValid`
   * is asked right before each BIND is written, as for a push (false: it rejects, nothing sent).
   */
  bind(
    names: string[],
    options?: SinkPushOptions,
  ): Promise<{ refused: string[]; reason?: string; status?: number | null }>;
  unbind(names: string[]): Promise<void>;
  /**
   * Forgets Things without an UNBIND (another session holds them): they are not bound again on a reconnect, and
   * the next bind() of them sends a BIND.
   */
  forget?(names: string[]): void;
  /**
   * Resolves when ThingWorx acknowledged the push; rejects on failure. `options.stillValid` is asked right before
   * the push is written (after any wait for the connection): false withdraws it (it rejects, nothing sent).
   */
  push(thing: string, values: PropertyUpdate[], options?: SinkPushOptions): Promise<void>;
  /** Platform -> edge property writes; a rejected promise answers the write with an error. */
  onPropertyWrite(handler: (write: PropertyWrite) => Promise<void>): void;
  onStatus(handler: (status: SinkStatus) => void): void;
  isConnected(): boolean;
  /**
   * The pipes' state, for the bridge's truth about itself: how many there are, how many are up, and how many Things
   * are bound on the pipes that are down (their binding died with the session; they are bound again on reconnect).
   * Without it, a sink that is not connected holds no Thing bound.
   */
  pipes?(): PipesHealth;
  /** A failure's stable cause code (e.g. connect_refused, auth_timeout), for logs and metric labels. */
  causeOf?(error: unknown): string;
  readonly pipeCount: number;
  /**
   * Closes the connection: no reconnect after it (a pending one is cancelled); pushes in flight reject. `now`: without
   * waiting for the platform (no UNBIND, no closing handshake), for a stop past its limit.
   */
  close(options?: { now?: boolean }): Promise<void>;
}

/** What a sink says of its pipes (`ThingWorxSink.pipes`). */
export interface PipesHealth {
  count: number;
  up: number;
  /** Things bound (or to be bound again) on the pipes that are down. */
  boundOnDown: number;
}

/**
 * A failure that will not pass by waiting alone (e.g. a refused bind): retried a few times (the Thing is looked
 * up again), then dead-lettered.
 */
export class StubbornError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StubbornError';
  }
}

/**
 * The reason a call was cut short by the bridge's stop (the abort reason of the calls it had in flight): not a failure
 * of ThingWorx; the report it was for stays in the spool, unacknowledged, for the next start.
 */
export class StoppedError extends Error {
  constructor(message = 'cut short by the stop') {
    super(message);
    this.name = 'StoppedError';
  }
}

/** Thrown by a ThingDirectory when ThingWorx refuses for good (e.g. 403, unknown template): dead-letter. */
export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentError';
  }
}

/** A Thing's binding as ThingWorx shows it: bound to some session or not, and when a session last bound it. */
export interface ThingConnection {
  connected: boolean;
  /** Epoch ms of the last BIND of the Thing (any session); 0 when never bound. */
  lastConnection: number;
}

/** How a directory call can be cut short: `signal` aborts it (it rejects with the signal's reason). */
export interface CallOptions {
  signal?: AbortSignal;
}

/** ThingWorx REST: lists and creates Things. Each call takes an optional signal that aborts it (the bridge's stop). */
export interface ThingDirectory {
  /** Names of the Things implementing the template (all pages). */
  list(template: string, options?: CallOptions): Promise<{ names: string[]; pages: number }>;
  /** CreateThing + EnableThing + RestartThing; 'exists' when it was already there. */
  create(name: string, template: string, options?: CallOptions): Promise<'created' | 'exists'>;
  /**
   * The connection properties of the template's Things (RemoteThing's `isConnected` and `lastConnection`, set by
   * every BIND and UNBIND): how the bridge verifies it still holds its Things. Optional.
   */
  connections?(template: string, options?: CallOptions): Promise<Map<string, ThingConnection>>;
  /**
   * The same for a few named Things only (the baseline of Things just bound: a listing of the whole template for
   * each new device would grow with the fleet). Things it cannot read are left out. Optional.
   */
  connectionsOf?(names: readonly string[], options?: CallOptions): Promise<Map<string, ThingConnection>>;
  /** Releases connections (optional); `now`: without waiting for the calls in flight (they end at once). */
  close?(options?: { now?: boolean }): Promise<void>;
  /** The Thing's property values (optional; a fleet bridge reads FCntUp and payloadHex to seed its dedup). */
  properties?(name: string): Promise<Record<string, unknown>>;
}

/** The one downlink request model (thingpark/downlink-document.ts), validated once by its parser. */
export type { DownlinkRequest } from '../thingpark/downlink-document.js';

export type DownlinkResult =
  | { result: 'queued'; status: number }
  | { result: 'rejected'; status: number; code?: number; reason: string };

/**
 * Signs and sends a downlink through the ThingPark LRC tunnel (v2). `signal` aborts the call (the bridge's stop, at its
 * limit): it then rejects with the signal's reason.
 */
export interface DownlinkSender {
  send(request: DownlinkRequest, options?: CallOptions): Promise<DownlinkResult>;
}

/**
 * Payload drivers (src/drivers): the decoded values of an uplink, JSON downlinks encoded through the device's
 * driver, and the Thing Template of a device with a driver. The bridge never runs driver code itself.
 */
export interface PayloadDecoder {
  /** Updates to push with an uplink (decodedPayload, decodeErrors, typed fields); [] without a driver. Never rejects. */
  uplinkUpdates(report: TunnelReport): Promise<PropertyUpdate[]>;
  /**
   * A `downlink` write with a decoded body (`{"data": …}`, or DevEUI_downlink.payload) encoded into FPort and
   * payload_hex; any other value comes back unchanged. Rejects with the reason when it cannot be encoded.
   */
  encodeWrite(thing: string, value: TwValue): Promise<TwValue>;
  /** The Thing Template for a new Thing of this device, when its driver has one. */
  templateFor(devEui: string): string | undefined;
}
