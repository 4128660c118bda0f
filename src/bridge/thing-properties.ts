/**
 * What a report becomes in ThingWorx: one UpdateSubscribedPropertyValues push of `uplinkData` (the document as
 * received, JSON) and the scalar properties, all stamped with the report's Time.
 */
import type { TwValue } from '../alwayson/codec/types.js';
import { TEMPLATE_PROPERTY_NAMES } from '../thingworx/template.js';
import type { PropertyUpdate, TunnelReport } from './ports.js';

/** Property names of the Thing Template, defined once in thingworx/template.ts. */
export const PROPS = TEMPLATE_PROPERTY_NAMES;

const json = (v: unknown): TwValue => ({ baseType: 'JSON', value: JSON.stringify(v) });
const num = (v: number): TwValue => ({ baseType: 'NUMBER', value: v });

/** An absent number: ThingWorx shows NUMBER properties without a value as NaN. */
const NONE = Number.NaN;

/**
 * RSSI and SNR of an uplink: the top-level LrrRSSI / LrrSNR (ThingPark's best base station) when present;
 * otherwise both from one Lrrs.Lrr entry: the one named by the top-level Lrrid, else the one with the highest
 * LrrRSSI (ties: the highest LrrSNR). Absent everywhere: NaN.
 */
export function signalOf(r: TunnelReport): { rssi: number; snr: number } {
  let rssi = r.rssi;
  let snr = r.snr;
  if ((rssi === undefined || snr === undefined) && r.lrrs && r.lrrs.length > 0) {
    const named = r.lrrId !== undefined ? r.lrrs.find((l) => l.lrrId === r.lrrId) : undefined;
    const best =
      named ??
      r.lrrs.reduce((a, b) => {
        const ra = a.rssi ?? -Infinity;
        const rb = b.rssi ?? -Infinity;
        if (rb !== ra) return rb > ra ? b : a;
        return (b.snr ?? -Infinity) > (a.snr ?? -Infinity) ? b : a;
      });
    rssi ??= best.rssi;
    snr ??= best.snr;
  }
  return { rssi: rssi ?? NONE, snr: snr ?? NONE };
}

/**
 * The property updates for a report; an empty list means nothing to push (the report is only an event). An
 * uplink sets every property it owns, absent values included (NaN, ''), so the Thing never shows a value of an
 * earlier uplink beside the new one. `documentText`: the document's text as received (the stored report's), used
 * as it is for `uplinkData` rather than serialising the parsed document again.
 */
export function reportUpdates(r: TunnelReport, documentText?: string): PropertyUpdate[] {
  const time = Number.isFinite(r.timeMs) ? r.timeMs : Date.now();
  const out: PropertyUpdate[] = [];
  const add = (name: string, value: TwValue) => out.push({ name, value, time, quality: 'GOOD' });
  if (r.kind === 'uplink') {
    add(PROPS.uplinkData, documentText !== undefined ? { baseType: 'JSON', value: documentText } : json(r.document));
    add(PROPS.devEui, { baseType: 'STRING', value: r.devEui });
    add(PROPS.lastUplinkTime, { baseType: 'DATETIME', value: time });
    const signal = signalOf(r);
    add(PROPS.fport, num(r.fport ?? NONE));
    add(PROPS.fcntUp, num(r.fcntUp ?? NONE));
    add(PROPS.payloadHex, { baseType: 'STRING', value: r.payloadHex ?? '' });
    add(PROPS.rssi, num(signal.rssi));
    add(PROPS.snr, num(signal.snr));
    add(PROPS.spreadingFactor, num(r.spreadingFactor ?? NONE));
  } else if (r.kind === 'downlink_sent') {
    add(PROPS.downlinkStatus, json(downlinkSentStatus(r)));
  }
  return out;
}

/** The downlinkStatus value written when ThingPark reports a downlink sent (DeliveryStatus 1) or not. */
export function downlinkSentStatus(r: TunnelReport): Record<string, unknown> {
  const delivered = r.deliveryStatus === undefined || r.deliveryStatus === 1;
  return {
    state: delivered ? 'sent' : 'not_sent',
    time: r.time,
    ...(r.correlationId ? { correlationId: r.correlationId } : {}),
    ...(r.fport !== undefined ? { FPort: r.fport } : {}),
    ...(r.fcntDn !== undefined ? { FCntDn: r.fcntDn } : {}),
    ...(r.deliveryFailedCause ? { cause: r.deliveryFailedCause } : {}),
  };
}
