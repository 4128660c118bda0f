/**
 * Which driver decodes which device, decided in one place: an exact DevEUI first, then the longest DevEUI prefix,
 * then a DevEUI range, then a field of the uplink document (e.g. DriverCfg.id or ModelCfg, which ThingPark sends
 * when the device has a model/driver in its catalogue: UNCONFIRMED for every ThingPark, hence configurable).
 */
import type { Assignment } from './types.js';

export function normEui(s: string): string {
  return s.replace(/[-:\s]/g, '').toUpperCase();
}

function valueAt(doc: unknown, path: string): unknown {
  let v = doc;
  for (const k of path.split('.')) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

export interface MatchedDriver {
  driver: string;
  by: Assignment;
}

export class Assignments {
  private readonly byEui = new Map<string, MatchedDriver>();
  private readonly prefixes: (MatchedDriver & { prefix: string })[] = [];
  private readonly ranges: (MatchedDriver & { from: string; to: string })[] = [];
  private readonly fields: (MatchedDriver & { path: string; value: string })[] = [];

  constructor(drivers: { name: string; assign: Assignment[] }[] = []) {
    for (const d of drivers) this.add(d.name, d.assign);
  }

  add(driver: string, assign: Assignment[]): void {
    for (const a of assign) {
      if (a.type === 'deveui') this.byEui.set(normEui(a.devEui), { driver, by: a });
      else if (a.type === 'prefix') this.prefixes.push({ driver, by: a, prefix: normEui(a.prefix) });
      else if (a.type === 'range') this.ranges.push({ driver, by: a, from: normEui(a.from), to: normEui(a.to) });
      else this.fields.push({ driver, by: a, path: a.path, value: a.value });
    }
    this.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  get hasFieldRules(): boolean {
    return this.fields.length > 0;
  }

  /** By DevEUI rules only. */
  forEui(devEui: string): MatchedDriver | undefined {
    const eui = normEui(devEui);
    const exact = this.byEui.get(eui);
    if (exact) return exact;
    for (const p of this.prefixes) if (eui.startsWith(p.prefix)) return p;
    for (const r of this.ranges) if (eui.length === r.from.length && eui >= r.from && eui <= r.to) return r;
    return undefined;
  }

  /** DevEUI rules, then fields of the uplink (the object under DevEUI_uplink). */
  forUplink(devEui: string, uplink: unknown): MatchedDriver | undefined {
    const m = this.forEui(devEui);
    if (m || this.fields.length === 0) return m;
    for (const f of this.fields) {
      const v = valueAt(uplink, f.path);
      if (v !== undefined && v !== null && String(v) === f.value) return f;
    }
    return undefined;
  }
}
