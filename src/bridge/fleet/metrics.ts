/** The fleet queue's Prometheus metrics, added to the bridge's registry. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { FleetStatus } from './queue.js';

export function addFleetMetrics(registry: Registry, status: () => FleetStatus): void {
  const p = 'tpx_fleet_';
  new Gauge({
    name: `${p}connected`,
    help: '1 while the fleet broker connection is up and its lease held (the send gate is open)',
    registers: [registry],
    collect() {
      this.set(status().leased ? 1 : 0);
    },
  });
  new Gauge({
    name: `${p}queue_owned`,
    help: 'Fleet queues this bridge is the active consumer of (1 per owned queue)',
    labelNames: ['queue', 'bridge'],
    registers: [registry],
    collect() {
      this.reset();
      const s = status();
      for (const q of s.owned) this.set({ queue: q, bridge: s.bridgeId }, 1);
    },
  });
  new Gauge({
    name: `${p}queues_owned`,
    help: 'Number of fleet queues this bridge is the active consumer of',
    registers: [registry],
    collect() {
      this.set(status().owned.length);
    },
  });
  new Gauge({
    name: `${p}members`,
    help: 'Live bridges of the fleet (heartbeats heard), this one included',
    registers: [registry],
    collect() {
      this.set(status().members.length);
    },
  });
  let duplicatesSeen = 0;
  new Counter({
    name: `${p}redelivered_duplicates_total`,
    help: 'Redelivered reports already pushed (DevEUI, FCntUp, payload), acknowledged without a push',
    registers: [registry],
    collect() {
      const n = status().duplicates;
      if (n > duplicatesSeen) this.inc(n - duplicatesSeen);
      duplicatesSeen = n;
    },
  });
  let fencedSeen = 0;
  new Counter({
    name: `${p}fenced_total`,
    help: 'Times the broker connection was lost and this bridge fenced itself (stopped pushing, released its Things)',
    registers: [registry],
    collect() {
      const n = status().fenced;
      if (n > fencedSeen) this.inc(n - fencedSeen);
      fencedSeen = n;
    },
  });
}
