/**
 * ThingPark tunnel documents (research/thingpark.md §4.1, §4.2, §5.1): DevEUI_uplink, DevEUI_downlink_Sent,
 * DevEUI_notification and DevEUI_location reports, in typed JSON (numbers as numbers) or untyped JSON (every
 * value a string), parsed into one validated model. Bad fields are refused with a TunnelMessageError naming the
 * field; nothing here throws anything else. Also DevEUI_downlink (what an application asks to send).
 */
import { z } from 'zod';
import { TpxError } from '../errors.js';

export class TunnelMessageError extends TpxError {
  /** Dotted path of the refused field, e.g. `DevEUI_uplink.DevEUI` (or `(body)` for the document itself). */
  readonly field: string;
  constructor(field: string, message: string) {
    super('TPX_TUNNEL_MESSAGE_INVALID', message, {
      fix: 'Check the document ThingPark (or the sender) produced; the refused field is named above.',
      details: { field },
    });
    this.field = field;
  }
}

const HEX_EUI = /^[0-9A-Fa-f]{16}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;

/** True for an ISO 8601 date-time with seconds and an offset (`…T10:00:46.336+01:00`, `…Z`). */
export function isIsoTime(value: string): boolean {
  return ISO_TIME.test(value) && !Number.isNaN(Date.parse(value));
}

/** Normalises a DevEUI to 16 upper-case hex digits, or returns undefined when it is not one. */
export function normaliseDevEui(value: string): string | undefined {
  const v = value.trim();
  return HEX_EUI.test(v) ? v.toUpperCase() : undefined;
}

const devEui = z
  .string('must be a string')
  .regex(HEX_EUI, 'is not 16 hexadecimal digits')
  .transform((v) => v.toUpperCase());
const isoTime = z
  .string('must be a string')
  .refine(isIsoTime, 'is not an ISO 8601 time (YYYY-MM-DDThh:mm:ss[.sss]±hh:mm)');
const hex = z
  .string('must be a string')
  .regex(/^([0-9A-Fa-f]{2})*$/, 'is not hexadecimal bytes (an even number of 0-9, a-f digits)')
  .transform((v) => v.toLowerCase());
const str = z.union([z.string(), z.number()], 'must be a string').transform(String);

function int(min: number, max: number) {
  return z
    .union([z.number(), z.string().regex(/^\s*-?\d+\s*$/, 'is not an integer')], 'must be an integer')
    .transform(Number)
    .pipe(z.number().int('is not an integer').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}
const num = z
  .union([z.number(), z.string().regex(/^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/, 'is not a number')], 'must be a number')
  .transform(Number)
  .pipe(z.number().refine(Number.isFinite, 'is not a finite number'));
const flag = z
  .union([z.literal(0), z.literal(1), z.literal('0'), z.literal('1'), z.boolean()], 'must be 0 or 1')
  .transform((v) => v === 1 || v === '1' || v === true);
/** CustomerData is an object in JSON reports and a JSON string in XML-converted ones. */
const customerData = z.union([z.record(z.string(), z.unknown()), z.string()]).transform((v): unknown => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
});
const U32 = 0xffffffff;

const common = {
  Time: isoTime,
  DevEUI: devEui,
  CustomerID: str.optional(),
  Lrcid: str.optional(),
  DevAddr: str.optional(),
  CustomerData: customerData.optional(),
};

const lrr = z.looseObject({
  Lrrid: str,
  LrrRSSI: num.optional(),
  LrrSNR: num.optional(),
  LrrESP: num.optional(),
  Chain: str.optional(),
});

const uplinkSchema = z.looseObject({
  ...common,
  FPort: int(0, 255).optional(),
  FCntUp: int(0, U32),
  FCntDn: int(0, U32).optional(),
  payload_hex: hex.optional(),
  mic_hex: hex.optional(),
  MType: int(0, 7).optional(),
  Lrrid: str.optional(),
  LrrRSSI: num.optional(),
  LrrSNR: num.optional(),
  SpFact: int(5, 12).optional(),
  SubBand: str.optional(),
  Channel: str.optional(),
  Frequency: num.optional(),
  DevLrrCnt: int(0, 1000).optional(),
  Late: flag.optional(),
  Lrrs: z
    .looseObject({ Lrr: z.preprocess((v) => (Array.isArray(v) || v === undefined ? v : [v]), z.array(lrr)) })
    .optional(),
});

const downlinkSentSchema = z.looseObject({
  ...common,
  FPort: int(0, 255).optional(),
  FCntUp: int(0, U32).optional(),
  FCntDn: int(0, U32).optional(),
  DeliveryStatus: int(0, 1000).optional(),
  DeliveryFailedCause1: str.optional(),
  DeliveryFailedCause2: str.optional(),
  DeliveryFailedCause3: str.optional(),
  TransmissionSlot: int(0, 4).optional(),
  CorrelationID: z
    .string()
    .regex(/^[0-9A-Fa-f]{16}$/, 'is not 16 hexadecimal digits')
    .optional(),
});

const notificationSchema = z.looseObject({
  ...common,
  Type: z.string('must be a string').min(1, 'is empty'),
  FCntDn: int(0, U32).optional(),
});

const locationSchema = z.looseObject({
  ...common,
  DevLocTime: isoTime.optional(),
  DevLAT: num.pipe(z.number().min(-90, 'must be at least -90').max(90, 'must be at most 90')).optional(),
  DevLON: num.pipe(z.number().min(-180, 'must be at least -180').max(180, 'must be at most 180')).optional(),
  DevAlt: num.optional(),
  DevLocRadius: num.optional(),
});

interface Base {
  devEui: string;
  /** Time as sent (ISO 8601). */
  time: string;
  /** Time in ms since the epoch. */
  timestamp: number;
  customerId?: string;
  lrcId?: string;
  devAddr?: string;
  customerData?: unknown;
  /** The inner object as received (every field, including those the model does not name). */
  raw: Record<string, unknown>;
}

export interface UplinkMessage extends Base {
  kind: 'uplink';
  fPort?: number;
  fCntUp: number;
  fCntDn?: number;
  /** Lower-case hex ("" when the frame carried no payload). */
  payloadHex: string;
  micHex?: string;
  mType?: number;
  lrrId?: string;
  rssi?: number;
  snr?: number;
  spFact?: number;
  subBand?: string;
  channel?: string;
  frequency?: number;
  late?: boolean;
  lrrCount?: number;
  lrrs: { lrrId: string; rssi?: number; snr?: number; esp?: number }[];
}

export interface DownlinkSentMessage extends Base {
  kind: 'downlinkSent';
  fPort?: number;
  fCntUp?: number;
  fCntDn?: number;
  deliveryStatus?: number;
  deliveryFailedCauses: string[];
  transmissionSlot?: number;
  correlationId?: string;
}

export interface NotificationMessage extends Base {
  kind: 'notification';
  type: string;
  fCntDn?: number;
  /** Var1, Var2, … as strings. */
  vars: Record<string, string>;
}

export interface LocationMessage extends Base {
  kind: 'location';
  latitude?: number;
  longitude?: number;
  altitude?: number;
  radius?: number;
  locationTime?: string;
}

export type TunnelMessage = UplinkMessage | DownlinkSentMessage | NotificationMessage | LocationMessage;

function fieldError(root: string, err: z.ZodError, raw: Record<string, unknown>): TunnelMessageError {
  const issue = err.issues[0];
  const path = issue?.path ?? [];
  const field = [root, ...path.map(String)].join('.');
  let value: unknown = raw;
  for (const p of path)
    value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[p] : undefined;
  const shown = value === undefined ? 'missing' : JSON.stringify(value);
  const what = value === undefined && issue?.code === 'invalid_type' ? 'is missing' : (issue?.message ?? 'is invalid');
  const clipped = shown.length > 60 ? `${shown.slice(0, 57)}...` : shown;
  return new TunnelMessageError(field, `${field} ${what}${value === undefined ? '' : ` (got ${clipped})`}.`);
}

function baseOf(
  d: {
    DevEUI: string;
    Time: string;
    CustomerID?: string;
    Lrcid?: string;
    DevAddr?: string;
    CustomerData?: unknown;
  },
  raw: Record<string, unknown>,
): Base {
  const b: Base = { devEui: d.DevEUI, time: d.Time, timestamp: Date.parse(d.Time), raw };
  if (d.CustomerID !== undefined) b.customerId = d.CustomerID;
  if (d.Lrcid !== undefined) b.lrcId = d.Lrcid;
  if (d.DevAddr !== undefined) b.devAddr = d.DevAddr;
  if (d.CustomerData !== undefined) b.customerData = d.CustomerData;
  return b;
}

function clean<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function rootOf(input: unknown): { root: string; raw: Record<string, unknown> } {
  let doc = input;
  if (typeof doc === 'string' || Buffer.isBuffer(doc)) {
    try {
      doc = JSON.parse(String(doc)) as unknown;
    } catch (err) {
      throw new TunnelMessageError('(body)', `The document is not valid JSON: ${(err as Error).message}.`);
    }
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new TunnelMessageError('(body)', 'The document is not a JSON object.');
  }
  const keys = Object.keys(doc);
  const root = keys.find((k) => k.startsWith('DevEUI_'));
  if (!root) {
    throw new TunnelMessageError(
      '(body)',
      `The document has no DevEUI_* root (keys: ${keys.slice(0, 5).join(', ') || 'none'}).`,
    );
  }
  const raw = (doc as Record<string, unknown>)[root];
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new TunnelMessageError(root, `${root} is not an object.`);
  return { root, raw: raw as Record<string, unknown> };
}

/**
 * Parses a report document (object or JSON text) into the model. Throws TunnelMessageError naming the bad
 * field; never anything else.
 */
export function parseTunnelMessage(input: unknown): TunnelMessage {
  const { root, raw } = rootOf(input);
  switch (root) {
    case 'DevEUI_uplink': {
      const r = uplinkSchema.safeParse(raw);
      if (!r.success) throw fieldError(root, r.error, raw);
      const d = r.data;
      const lrrs = d.Lrrs?.Lrr ?? [];
      return clean<UplinkMessage>({
        kind: 'uplink',
        ...baseOf(d, raw),
        fPort: d.FPort,
        fCntUp: d.FCntUp,
        fCntDn: d.FCntDn,
        payloadHex: d.payload_hex ?? '',
        micHex: d.mic_hex,
        mType: d.MType,
        lrrId: d.Lrrid,
        rssi: d.LrrRSSI,
        snr: d.LrrSNR,
        spFact: d.SpFact,
        subBand: d.SubBand,
        channel: d.Channel,
        frequency: d.Frequency,
        late: d.Late,
        lrrCount: d.DevLrrCnt,
        lrrs: lrrs.map((l) => clean({ lrrId: l.Lrrid, rssi: l.LrrRSSI, snr: l.LrrSNR, esp: l.LrrESP })),
      });
    }
    case 'DevEUI_downlink_Sent': {
      const r = downlinkSentSchema.safeParse(raw);
      if (!r.success) throw fieldError(root, r.error, raw);
      const d = r.data;
      return clean<DownlinkSentMessage>({
        kind: 'downlinkSent',
        ...baseOf(d, raw),
        fPort: d.FPort,
        fCntUp: d.FCntUp,
        fCntDn: d.FCntDn,
        deliveryStatus: d.DeliveryStatus,
        deliveryFailedCauses: [d.DeliveryFailedCause1, d.DeliveryFailedCause2, d.DeliveryFailedCause3].filter(
          (c): c is string => c !== undefined && c !== '',
        ),
        transmissionSlot: d.TransmissionSlot,
        correlationId: d.CorrelationID?.toUpperCase(),
      });
    }
    case 'DevEUI_notification': {
      const r = notificationSchema.safeParse(raw);
      if (!r.success) throw fieldError(root, r.error, raw);
      const d = r.data;
      const vars: Record<string, string> = {};
      for (const [k, v] of Object.entries(raw))
        if (/^Var\d+$/.test(k) && v !== null && v !== undefined) vars[k] = String(v);
      return clean<NotificationMessage>({
        kind: 'notification',
        ...baseOf(d, raw),
        type: d.Type,
        fCntDn: d.FCntDn,
        vars,
      });
    }
    case 'DevEUI_location': {
      const r = locationSchema.safeParse(raw);
      if (!r.success) throw fieldError(root, r.error, raw);
      const d = r.data;
      return clean<LocationMessage>({
        kind: 'location',
        ...baseOf(d, raw),
        latitude: d.DevLAT,
        longitude: d.DevLON,
        altitude: d.DevAlt,
        radius: d.DevLocRadius,
        locationTime: d.DevLocTime,
      });
    }
    default:
      throw new TunnelMessageError(
        root,
        `${root} is not a report tpx handles (DevEUI_uplink, DevEUI_downlink_Sent, DevEUI_notification, DevEUI_location).`,
      );
  }
}

/** Like parseTunnelMessage, but returns the error instead of throwing it. */
export function safeParseTunnelMessage(
  input: unknown,
): { ok: true; message: TunnelMessage } | { ok: false; error: TunnelMessageError } {
  try {
    return { ok: true, message: parseTunnelMessage(input) };
  } catch (err) {
    if (err instanceof TunnelMessageError) return { ok: false, error: err };
    return { ok: false, error: new TunnelMessageError('(body)', `The document could not be read: ${String(err)}.`) };
  }
}

const downlinkSchema = z
  .looseObject({
    Time: isoTime.optional(),
    DevEUI: devEui,
    FPort: int(1, 224),
    payload_hex: hex.optional(),
    payload: z.unknown().optional(),
    FCntDn: int(0, U32).optional(),
    AFCntDn: int(0, U32).optional(),
    Confirmed: flag.optional(),
    FlushDownlinkQueue: flag.optional(),
    ValidityTime: z.union([isoTime, int(0, U32)]).optional(),
    CorrelationID: z
      .string()
      .regex(/^[0-9A-Fa-f]{16}$/, 'is not 16 hexadecimal digits')
      .optional(),
    AS_ID: z
      .string()
      .regex(/^[0-9A-Za-z\-._]+$/, 'has characters other than letters, digits, "-", "." and "_"')
      .optional(),
    AS_KEY: z.string().optional(),
  })
  .refine((d) => !(d.payload_hex !== undefined && d.payload !== undefined), {
    message: 'and payload cannot both be given',
    path: ['payload_hex'],
  });

/** What an application asks to send (DevEUI_downlink, §5.1). */
export interface DownlinkRequest {
  devEui: string;
  fPort: number;
  /** Lower-case hex; absent when a decoded `payload` object is given for a driver to encode. */
  payloadHex?: string;
  payload?: unknown;
  time?: string;
  fCntDn?: number;
  aFCntDn?: number;
  confirmed: boolean;
  flushQueue: boolean;
  validityTime?: string | number;
  correlationId?: string;
  asId?: string;
  asKey?: string;
}

/** Parses a `{"DevEUI_downlink": {…}}` document (typed or untyped). Throws TunnelMessageError naming the field. */
export function parseDownlinkDocument(input: unknown): DownlinkRequest {
  const { root, raw } = rootOf(input);
  if (root !== 'DevEUI_downlink')
    throw new TunnelMessageError(root, `Expected a DevEUI_downlink document, got ${root}.`);
  const r = downlinkSchema.safeParse(raw);
  if (!r.success) throw fieldError(root, r.error, raw);
  const d = r.data;
  if (d.payload_hex === undefined && d.payload === undefined && !d.FlushDownlinkQueue) {
    throw new TunnelMessageError(
      `${root}.payload_hex`,
      `${root}.payload_hex is missing (give payload_hex or payload).`,
    );
  }
  return clean<DownlinkRequest>({
    devEui: d.DevEUI,
    fPort: d.FPort,
    payloadHex: d.payload_hex,
    payload: d.payload,
    time: d.Time,
    fCntDn: d.FCntDn,
    aFCntDn: d.AFCntDn,
    confirmed: d.Confirmed ?? false,
    flushQueue: d.FlushDownlinkQueue ?? false,
    validityTime: d.ValidityTime,
    correlationId: d.CorrelationID?.toUpperCase(),
    asId: d.AS_ID,
    asKey: d.AS_KEY,
  });
}
