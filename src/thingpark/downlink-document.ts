/**
 * DevEUI_downlink documents (research/thingpark.md §5.1): what an application asks ThingPark to send, in typed or
 * untyped JSON. Refused fields raise TunnelMessageError naming the field.
 */
import { z } from 'zod';
import { hexPattern } from '../util/hex.js';
import {
  clean,
  devEui,
  FPORT,
  fieldError,
  flag,
  hex,
  int,
  isoTime,
  MAX_DOWNLINK_PAYLOAD_BYTES,
  rootOf,
  TunnelMessageError,
  U32,
} from './message-fields.js';

const downlinkSchema = z
  .looseObject({
    Time: isoTime.optional(),
    DevEUI: devEui,
    FPort: int(FPORT.downlink.min, FPORT.downlink.max),
    payload_hex: hex
      .refine(
        (v) => v.length <= 2 * MAX_DOWNLINK_PAYLOAD_BYTES,
        `is longer than ${MAX_DOWNLINK_PAYLOAD_BYTES} bytes (the most the tunnel takes)`,
      )
      .optional(),
    payload: z.unknown().optional(),
    FCntDn: int(0, U32).optional(),
    AFCntDn: int(0, U32).optional(),
    Confirmed: flag.optional(),
    FlushDownlinkQueue: flag.optional(),
    ValidityTime: z.union([isoTime, int(0, U32)]).optional(),
    CorrelationID: z.string().regex(hexPattern(16), 'is not 16 hexadecimal digits').optional(),
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
