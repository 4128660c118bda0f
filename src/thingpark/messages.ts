/**
 * ThingPark tunnel documents (research/thingpark.md §4.1, §4.2, §5.1): DevEUI_uplink, DevEUI_downlink_Sent,
 * DevEUI_notification and DevEUI_location reports, in typed JSON (numbers as numbers) or untyped JSON (every
 * value a string), parsed into one validated model. Bad fields are refused with a TunnelMessageError naming the
 * field; nothing here throws anything else. Also DevEUI_downlink (what an application asks to send).
 */
import { z } from 'zod';
import {
  clean,
  customerData,
  devEui,
  FPORT,
  fieldError,
  flag,
  hex,
  int,
  isoTime,
  num,
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
  FPort: int(FPORT.uplink.min, FPORT.uplink.max).optional(),
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
