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

/** The property updates for a report; an empty list means nothing to push (the report is only an event). */
export function reportUpdates(r: TunnelReport): PropertyUpdate[] {
  const time = Number.isFinite(r.timeMs) ? r.timeMs : Date.now();
  const out: PropertyUpdate[] = [];
  const add = (name: string, value: TwValue) => out.push({ name, value, time, quality: 'GOOD' });
  if (r.kind === 'uplink') {
    add(PROPS.uplinkData, json(r.document));
    add(PROPS.devEui, { baseType: 'STRING', value: r.devEui });
    add(PROPS.lastUplinkTime, { baseType: 'DATETIME', value: time });
    if (r.fport !== undefined) add(PROPS.fport, num(r.fport));
    if (r.fcntUp !== undefined) add(PROPS.fcntUp, num(r.fcntUp));
    add(PROPS.payloadHex, { baseType: 'STRING', value: r.payloadHex ?? '' });
    if (r.rssi !== undefined) add(PROPS.rssi, num(r.rssi));
    if (r.snr !== undefined) add(PROPS.snr, num(r.snr));
    if (r.spreadingFactor !== undefined) add(PROPS.spreadingFactor, num(r.spreadingFactor));
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
