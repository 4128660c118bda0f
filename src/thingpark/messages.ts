/**
 * ThingPark tunnel documents (research/thingpark.md §4.1, §4.2, §5.1): DevEUI_uplink, DevEUI_downlink_Sent,
 * DevEUI_notification and DevEUI_location reports, in typed JSON (numbers as numbers) or untyped JSON (every
 * value a string), parsed into one validated model. Bad fields are refused with a TunnelMessageError naming the
 * field; nothing here throws anything else. Also DevEUI_downlink (what an application asks to send).
 */
import { z } from 'zod';
import { hexPattern } from '../util/hex.js';
import {
  clean,
  F,
  type Field,
  FPORT,
  fieldError,
  INVALID,
  int,
  isoTime,
  listOf,
  num,
  objectOf,
  optional,
  rootOf,
  str,
  TunnelMessageError,
  U32,
} from './message-fields.js';

export { type DownlinkRequest, parseDownlinkDocument } from './downlink-document.js';
export {
  FPORT,
  isIsoTime,
  MAX_DOWNLINK_PAYLOAD_BYTES,
  normaliseDevEui,
  TunnelMessageError,
} from './message-fields.js';

/** Fields every report has. */
const commonFields = {
  Time: F.isoTime,
  DevEUI: F.devEui,
  CustomerID: optional(F.str),
  Lrcid: optional(F.str),
  DevAddr: optional(F.str),
  CustomerData: optional(F.customerData),
};
const common = Object.fromEntries(Object.entries(commonFields).map(([k, f]) => [k, f.zod])) as {
  [K in keyof typeof commonFields]: (typeof commonFields)[K]['zod'];
};

interface UplinkFields {
  Time: string;
  DevEUI: string;
  CustomerID?: string;
  Lrcid?: string;
  DevAddr?: string;
  CustomerData?: unknown;
  FPort?: number;
  FCntUp: number;
  FCntDn?: number;
  payload_hex?: string;
  mic_hex?: string;
  MType?: number;
  Lrrid?: string;
  LrrRSSI?: number;
  LrrSNR?: number;
  SpFact?: number;
  SubBand?: string;
  Channel?: string;
  Frequency?: number;
  DevLrrCnt?: number;
  Late?: boolean;
  Lrrs?: { Lrr?: { Lrrid: string; LrrRSSI?: number; LrrSNR?: number; LrrESP?: number; Chain?: string }[] };
}

/** DevEUI_uplink, defined once: the schema (errors) and the fast reader (the hot path) come from this table. */
const uplinkFields = objectOf({
  ...commonFields,
  FPort: optional(F.int(FPORT.uplink.min, FPORT.uplink.max)),
  FCntUp: F.int(0, U32),
  FCntDn: optional(F.int(0, U32)),
  payload_hex: optional(F.hex),
  mic_hex: optional(F.hex),
  MType: optional(F.int(0, 7)),
  Lrrid: optional(F.str),
  LrrRSSI: optional(F.num),
  LrrSNR: optional(F.num),
  SpFact: optional(F.int(5, 12)),
  SubBand: optional(F.str),
  Channel: optional(F.str),
  Frequency: optional(F.num),
  DevLrrCnt: optional(F.int(0, 1000)),
  Late: optional(F.flag),
  Lrrs: optional(
    objectOf({
      Lrr: optional(
        listOf({
          Lrrid: F.str,
          LrrRSSI: optional(F.num),
          LrrSNR: optional(F.num),
          LrrESP: optional(F.num),
          Chain: optional(F.str),
        }),
      ),
    }),
  ),
}) as unknown as Field<UplinkFields>;

const downlinkSentSchema = z.looseObject({
  ...common,
  FPort: int(FPORT.uplink.min, FPORT.uplink.max).optional(),
  FCntUp: int(0, U32).optional(),
  FCntDn: int(0, U32).optional(),
  DeliveryStatus: int(0, 1000).optional(),
  DeliveryFailedCause1: str.optional(),
  DeliveryFailedCause2: str.optional(),
  DeliveryFailedCause3: str.optional(),
  TransmissionSlot: int(0, 4).optional(),
  CorrelationID: z.string().regex(hexPattern(16), 'is not 16 hexadecimal digits').optional(),
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

/** True when an uplink's fields pass the fast reader (the hot path; tests compare it with the schema). */
export function uplinkReadsFast(raw: Record<string, unknown>): boolean {
  return uplinkFields.read(raw) !== INVALID;
}

/**
 * Parses a report document (object or JSON text) into the model. Throws TunnelMessageError naming the bad
 * field; never anything else. `schemaOnly` skips the fast reader (tests compare both).
 */
export function parseTunnelMessage(input: unknown, options: { schemaOnly?: boolean } = {}): TunnelMessage {
  const { root, raw } = rootOf(input);
  switch (root) {
    case 'DevEUI_uplink': {
      const fast = options.schemaOnly ? INVALID : uplinkFields.read(raw);
      let d: UplinkFields;
      if (fast !== INVALID) d = fast;
      else {
        const r = uplinkFields.zod.safeParse(raw);
        if (!r.success) throw fieldError(root, r.error, raw);
        d = r.data;
      }
      // built with only the defined fields (no `clean`: deleting keys turns an object into a slow dictionary)
      const m = Object.assign({ kind: 'uplink' }, baseOf(d, raw)) as UplinkMessage;
      if (d.FPort !== undefined) m.fPort = d.FPort;
      m.fCntUp = d.FCntUp;
      if (d.FCntDn !== undefined) m.fCntDn = d.FCntDn;
      m.payloadHex = d.payload_hex ?? '';
      if (d.mic_hex !== undefined) m.micHex = d.mic_hex;
      if (d.MType !== undefined) m.mType = d.MType;
      if (d.Lrrid !== undefined) m.lrrId = d.Lrrid;
      if (d.LrrRSSI !== undefined) m.rssi = d.LrrRSSI;
      if (d.LrrSNR !== undefined) m.snr = d.LrrSNR;
      if (d.SpFact !== undefined) m.spFact = d.SpFact;
      if (d.SubBand !== undefined) m.subBand = d.SubBand;
      if (d.Channel !== undefined) m.channel = d.Channel;
      if (d.Frequency !== undefined) m.frequency = d.Frequency;
      if (d.Late !== undefined) m.late = d.Late;
      if (d.DevLrrCnt !== undefined) m.lrrCount = d.DevLrrCnt;
      m.lrrs = (d.Lrrs?.Lrr ?? []).map((l) => {
        const lrr: UplinkMessage['lrrs'][number] = { lrrId: l.Lrrid };
        if (l.LrrRSSI !== undefined) lrr.rssi = l.LrrRSSI;
        if (l.LrrSNR !== undefined) lrr.snr = l.LrrSNR;
        if (l.LrrESP !== undefined) lrr.esp = l.LrrESP;
        return lrr;
      });
      return m;
    }
    case 'DevEUI_downlink_Sent':
      return parseDownlinkSent(root, raw);
    case 'DevEUI_notification':
      return parseNotification(root, raw);
    case 'DevEUI_location':
      return parseLocation(root, raw);
    default:
      throw new TunnelMessageError(
        root,
        `${root} is not a report tpx handles (DevEUI_uplink, DevEUI_downlink_Sent, DevEUI_notification, DevEUI_location).`,
      );
  }
}

type BaseFields = Parameters<typeof baseOf>[0];

/**
 * Reads a report by its schema (a TunnelMessageError names the bad field), then builds its model: its kind, the
 * fields every report has, and its own.
 */
function parseBy<S extends z.ZodType<BaseFields>, M extends TunnelMessage>(
  schema: S,
  root: string,
  raw: Record<string, unknown>,
  kind: M['kind'],
  own: (d: z.output<S>) => Omit<M, keyof Base | 'kind'>,
): M {
  const r = schema.safeParse(raw);
  if (!r.success) throw fieldError(root, r.error, raw);
  return clean<M>({ kind, ...baseOf(r.data, raw), ...own(r.data) } as M);
}

const parseDownlinkSent = (root: string, raw: Record<string, unknown>) =>
  parseBy<typeof downlinkSentSchema, DownlinkSentMessage>(downlinkSentSchema, root, raw, 'downlinkSent', (d) => ({
    fPort: d.FPort,
    fCntUp: d.FCntUp,
    fCntDn: d.FCntDn,
    deliveryStatus: d.DeliveryStatus,
    deliveryFailedCauses: [d.DeliveryFailedCause1, d.DeliveryFailedCause2, d.DeliveryFailedCause3].filter(
      (c): c is string => c !== undefined && c !== '',
    ),
    transmissionSlot: d.TransmissionSlot,
    correlationId: d.CorrelationID?.toUpperCase(),
  }));

/** Var1, Var2… of a notification, as text. */
function varsOf(raw: Record<string, unknown>): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw))
    if (/^Var\d+$/.test(k) && v !== null && v !== undefined) vars[k] = String(v);
  return vars;
}

const parseNotification = (root: string, raw: Record<string, unknown>) =>
  parseBy<typeof notificationSchema, NotificationMessage>(notificationSchema, root, raw, 'notification', (d) => ({
    type: d.Type,
    fCntDn: d.FCntDn,
    vars: varsOf(raw),
  }));

const parseLocation = (root: string, raw: Record<string, unknown>) =>
  parseBy<typeof locationSchema, LocationMessage>(locationSchema, root, raw, 'location', (d) => {
    const { DevLAT: latitude, DevLON: longitude, DevAlt: altitude, DevLocRadius: radius, DevLocTime: locationTime } = d;
    return { latitude, longitude, altitude, radius, locationTime };
  });

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
