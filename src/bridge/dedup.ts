/**
 * Duplicate detection on (DevEUI, FCntUp) within a time window. A repeat is the same counter with the same
 * payload seen within the window; a different payload on a known counter, or a join notification, means the
 * device's counters restarted (rejoin), so the new frame is delivered.
 */
export interface DedupEntry {
  devEui: string;
  fcnt: number;
  payload: string;
  seenAt: number;
}

export class DedupWindow {
  private readonly devices = new Map<string, Map<number, { payload: string; seenAt: number }>>();
  size = 0;

  constructor(readonly windowMs: number) {}

  /** True when (devEui, fcnt, payload) was seen within the window before `now`. */
  isDuplicate(devEui: string, fcnt: number, payload: string, now: number): boolean {
    if (this.windowMs <= 0) return false;
    const e = this.devices.get(devEui)?.get(fcnt);
    return e !== undefined && now - e.seenAt <= this.windowMs && e.payload === payload;
  }

  remember(devEui: string, fcnt: number, payload: string, seenAt: number): void {
    if (this.windowMs <= 0) return;
    let m = this.devices.get(devEui);
    if (!m) {
      m = new Map();
      this.devices.set(devEui, m);
    }
    if (!m.has(fcnt)) this.size += 1;
    m.set(fcnt, { payload, seenAt });
  }

  forget(devEui: string, fcnt: number): void {
    const m = this.devices.get(devEui);
    if (m?.delete(fcnt)) this.size -= 1;
  }

  /** Forgets a device's counters (after a join). */
  reset(devEui: string): void {
    const m = this.devices.get(devEui);
    if (!m) return;
    this.size -= m.size;
    this.devices.delete(devEui);
  }

  /** Drops entries older than the window. */
  prune(now: number): void {
    for (const [dev, m] of this.devices) {
      for (const [fcnt, e] of m) {
        if (now - e.seenAt > this.windowMs) {
          m.delete(fcnt);
          this.size -= 1;
        }
      }
      if (m.size === 0) this.devices.delete(dev);
    }
  }

  load(entries: DedupEntry[]): void {
    for (const e of entries) this.remember(e.devEui, e.fcnt, e.payload, e.seenAt);
  }
}
