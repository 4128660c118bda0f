/**
 * Duplicate detection on (DevEUI, FCntUp) within a time window. A repeat is the same counter with the same
 * payload seen within the window; a different payload on a known counter, or a join notification, means the
 * device's counters restarted (rejoin), so the new frame is delivered.
 *
 * Memory: one flat array per device (`[fcnt, seenAt, payload, …]`, times relative to the window's creation so they
 * stay small integers), about 24 bytes per counter and 120 per device, instead of a Map per device and an object
 * per counter. A device keeps its last `perDevice` counters (default 64) within the window: a repeat of an older
 * frame of the same device (64 uplinks later) is no longer recognised, so one device's memory is bounded whatever
 * its rate, and the whole by devices × perDevice.
 */
export interface DedupEntry {
  devEui: string;
  fcnt: number;
  payload: string;
  seenAt: number;
}

/** Counters kept per device by default. */
export const DEDUP_PER_DEVICE = 64;

type Seen = (number | string)[];

export class DedupWindow {
  private readonly devices = new Map<string, Seen>();
  /** Times are kept relative to this (small integers). */
  private readonly base = Date.now();
  size = 0;

  constructor(
    readonly windowMs: number,
    readonly perDevice = DEDUP_PER_DEVICE,
  ) {}

  /** True when (devEui, fcnt, payload) was seen within the window before `now`. */
  isDuplicate(devEui: string, fcnt: number, payload: string, now: number): boolean {
    if (this.windowMs <= 0) return false;
    const s = this.devices.get(devEui);
    if (!s) return false;
    for (let i = s.length - 3; i >= 0; i -= 3) {
      if (s[i] !== fcnt) continue;
      return now - this.base - (s[i + 1] as number) <= this.windowMs && s[i + 2] === payload;
    }
    return false;
  }

  remember(devEui: string, fcnt: number, payload: string, seenAt: number): void {
    if (this.windowMs <= 0) return;
    const at = seenAt - this.base;
    const s = this.devices.get(devEui);
    if (!s) {
      this.devices.set(devEui, [fcnt, at, payload]);
      this.size += 1;
      return;
    }
    for (let i = s.length - 3; i >= 0; i -= 3) {
      if (s[i] !== fcnt) continue;
      s[i + 1] = at;
      s[i + 2] = payload;
      return;
    }
    if (s.length >= this.perDevice * 3) s.splice(0, 3);
    else this.size += 1;
    s.push(fcnt, at, payload);
  }

  forget(devEui: string, fcnt: number): void {
    const s = this.devices.get(devEui);
    if (!s) return;
    for (let i = s.length - 3; i >= 0; i -= 3) {
      if (s[i] !== fcnt) continue;
      s.splice(i, 3);
      this.size -= 1;
      if (s.length === 0) this.devices.delete(devEui);
      return;
    }
  }

  /** Forgets a device's counters (after a join). */
  reset(devEui: string): void {
    const s = this.devices.get(devEui);
    if (!s) return;
    this.size -= s.length / 3;
    this.devices.delete(devEui);
  }

  /** Drops entries older than the window. */
  prune(now: number): void {
    const oldest = now - this.base - this.windowMs;
    for (const [dev, s] of this.devices) {
      let kept = 0;
      for (let i = 0; i < s.length; i += 3) {
        if ((s[i + 1] as number) < oldest) continue;
        if (kept !== i) {
          s[kept] = s[i]!;
          s[kept + 1] = s[i + 1]!;
          s[kept + 2] = s[i + 2]!;
        }
        kept += 3;
      }
      if (kept === s.length) continue;
      this.size -= (s.length - kept) / 3;
      if (kept === 0) this.devices.delete(dev);
      else s.length = kept;
    }
  }

  /** Devices with counters remembered. */
  get deviceCount(): number {
    return this.devices.size;
  }

  load(entries: DedupEntry[]): void {
    for (const e of [...entries].sort((a, b) => a.seenAt - b.seenAt)) {
      this.remember(e.devEui, e.fcnt, e.payload, e.seenAt);
    }
  }
}
