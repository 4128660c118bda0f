/**
 * The bridge's ports: small interfaces the bridge core depends on. Adapters (adapters.ts) connect them to the
 * real modules (alwayson pool, ThingWorx REST, ThingPark tunnel); tests use in-memory fakes.
 */
import type { TwValue } from '../alwayson/codec/types.js';
import type { DownlinkRequest } from '../thingpark/downlink-document.js';
import type { ReportKind } from './events.js';

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
  | { type: 'up' | 'down' | 'reconnect'; pipe?: number; error?: string }
  /** Things the platform refused to bind again after a reconnect: they are unbound until bound again. */
  | { type: 'unbound'; pipe?: number; names: string[]; error: string };

/** The ThingWorx AlwaysOn side (alwayson/pool). */
export interface ThingWorxSink {
  start(): Promise<void>;
  /** Binds Things; names the platform refused are returned (not thrown), other failures reject. */
  bind(names: string[]): Promise<{ refused: string[]; reason?: string }>;
  unbind(names: string[]): Promise<void>;
  /** Resolves when ThingWorx acknowledged the push; rejects on failure. */
  push(thing: string, values: PropertyUpdate[]): Promise<void>;
  /** Platform -> edge property writes; a rejected promise answers the write with an error. */
  onPropertyWrite(handler: (write: PropertyWrite) => Promise<void>): void;
  onStatus(handler: (status: SinkStatus) => void): void;
  isConnected(): boolean;
  readonly pipeCount: number;
  close(): Promise<void>;
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

/** Thrown by a ThingDirectory when ThingWorx refuses for good (e.g. 403, unknown template): dead-letter. */
export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentError';
  }
}

/** ThingWorx REST: lists and creates Things. */
export interface ThingDirectory {
  /** Names of the Things implementing the template (all pages). */
  list(template: string): Promise<{ names: string[]; pages: number }>;
  /** CreateThing + EnableThing + RestartThing; 'exists' when it was already there. */
  create(name: string, template: string): Promise<'created' | 'exists'>;
  /** Releases connections (optional). */
  close?(): Promise<void>;
  /** The Thing's property values (optional; a fleet bridge reads FCntUp and payloadHex to seed its dedup). */
  properties?(name: string): Promise<Record<string, unknown>>;
}

/** The one downlink request model (thingpark/downlink-document.ts), validated once by its parser. */
export type { DownlinkRequest } from '../thingpark/downlink-document.js';

export type DownlinkResult =
  | { result: 'queued'; status: number }
  | { result: 'rejected'; status: number; code?: number; reason: string };

/** Signs and sends a downlink through the ThingPark LRC tunnel (v2). */
export interface DownlinkSender {
  send(request: DownlinkRequest): Promise<DownlinkResult>;
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
