/** The fleet queue as the bridge builds it: the report facts from the one parser, the dedup seed from ThingWorx. */
import type { BridgeEvents } from '../events.js';
import type { FleetOptions } from '../options.js';
import type { ReportCodec, ThingDirectory } from '../ports.js';
import type { Provisioner } from '../provisioning.js';
import { PROPS } from '../thing-properties.js';
import { FleetQueue } from './queue.js';

export interface FleetBridgeSide {
  events: BridgeEvents;
  codec: ReportCodec;
  directory: ThingDirectory;
  /** The bridge's provisioner (built after the queue). */
  provisioner(): Provisioner;
  url(): string;
  ready(): boolean;
}

export function fleetQueueFor(f: FleetOptions, b: FleetBridgeSide): FleetQueue {
  const { codec, directory } = b;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  return new FleetQueue({
    ...f,
    events: b.events,
    facts: (document) => {
      const r = codec.parse(JSON.parse(document));
      const join = r.kind === 'notification' && r.notificationType?.toLowerCase() === 'join';
      return {
        devEui: r.devEui,
        kind: r.kind,
        fcnt: r.kind === 'uplink' ? r.fcntUp : undefined,
        payload: r.payloadHex,
        join,
      };
    },
    ...(directory.properties
      ? {
          lastUplink: async (thing: string) => {
            const p = await directory.properties!(thing);
            const payload = p[PROPS.payloadHex];
            return { fcnt: num(p[PROPS.fcntUp]), payload: typeof payload === 'string' ? payload : undefined };
          },
        }
      : {}),
    release: (things, fenced) => b.provisioner().releaseThings(things, !fenced),
    publicUrl: () => b.url() || undefined,
    stats: () => {
      const p = b.provisioner();
      return { things: p.bound.size, ready: b.ready(), bound: [...p.bound] };
    },
  });
}
