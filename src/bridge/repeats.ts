/**
 * Folding repeated reports into one line per window: the first of a kind is reported at once; the repeats within
 * `windowMs` are counted and reported once when the window ends (with the latest details and their count), and a
 * flood that goes on gives one report per window. Nothing is lost: the counts add up to every occurrence. `first`
 * tells the first report from a window's (which may count 1 too: one repeat in that window).
 */
export class Repeats {
  private readonly open = new Map<
    string,
    { count: number; report: (count: number, first: boolean) => void; timer: NodeJS.Timeout }
  >();

  constructor(readonly windowMs: number) {}

  /** Reports `report(1, true)` now, or counts it if the same `key` was reported within the window. */
  add(key: string, report: (count: number, first: boolean) => void): void {
    const o = this.open.get(key);
    if (o) {
      o.count += 1;
      o.report = report;
      return;
    }
    report(1, true);
    this.start(key, report);
  }

  /** Reports every pending count now and forgets the windows. */
  flush(): void {
    for (const [key, o] of [...this.open]) {
      clearTimeout(o.timer);
      this.open.delete(key);
      if (o.count > 0) o.report(o.count, false);
    }
  }

  private start(key: string, report: (count: number, first: boolean) => void): void {
    const timer = setTimeout(() => {
      const o = this.open.get(key);
      this.open.delete(key);
      if (!o || o.count === 0) return;
      o.report(o.count, false);
      this.start(key, o.report);
    }, this.windowMs);
    timer.unref();
    this.open.set(key, { count: 0, report, timer });
  }
}
