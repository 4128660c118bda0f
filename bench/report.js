// The one way a benchmark reports its figures, for people (a text table on stdout) and for scripts (JSON).
// Every benchmark creates one report naming the machine-independent ratio it stands by, adds its figures (value,
// unit, target, met), and calls finish(). When run.js asks for JSON it sets BENCH_JSON_OUT to a file: finish()
// writes {name, ratio, figures, notes, missed} there, and run.js gathers those into its one JSON document.
import { writeFileSync } from 'node:fs';

/**
 * @param {string} name the benchmark (its file name without .bench.js)
 * @param {string} ratio what machine-independent ratio it reports (the figure to compare across machines)
 */
export function createReport(name, ratio) {
  const figures = [];
  const notes = [];
  let header = false;
  return {
    /**
     * One figure. `target` is text for people ("< 2000 ms", "(info)" or ''); `met` is true/false when there is a
     * target, undefined otherwise. `ratio: true` marks the machine-independent figure(s).
     * @param {{id: string, what: string, value: number, unit: string, target?: string, met?: boolean, ratio?: boolean, digits?: number}} f
     */
    figure(f) {
      const value = Number(f.value);
      const digits = f.digits ?? (Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : 2);
      const shown = Number(value.toFixed(digits));
      const target = f.target && f.target !== '(info)' ? f.target : undefined;
      const entry = { id: f.id, what: f.what, value: shown, unit: f.unit };
      if (target) {
        entry.target = target;
        entry.met = Boolean(f.met);
      }
      if (f.ratio) entry.ratio = true;
      figures.push(entry);
      if (!header) {
        header = true;
        console.log(`${'figure'.padEnd(52)} ${'value'.padStart(10)} ${'unit'.padEnd(10)} ${'target'.padEnd(12)}`);
      }
      const verdict = target ? (entry.met ? 'ok' : 'MISSED') : '';
      const text = shown.toLocaleString('en-US', { maximumFractionDigits: digits });
      console.log(
        `${f.what.padEnd(52)} ${text.padStart(10)} ${f.unit.padEnd(10)} ${(f.target ?? '').padEnd(12)} ${verdict}`,
      );
      return entry;
    },
    /** A line for people (also kept in the JSON as a note). */
    note(text) {
      notes.push(text);
      console.log(text);
    },
    get missed() {
      return figures.filter((f) => f.met === false).length;
    },
    /** Writes the JSON (when asked) and sets the exit code: 1 when a target was missed. */
    finish(extra = {}) {
      const missed = this.missed;
      const targets = figures.filter((f) => f.met !== undefined).length;
      console.log(
        missed ? `${missed} target(s) missed` : targets ? 'all targets met' : 'no targets (figures for information)',
      );
      const out = process.env.BENCH_JSON_OUT;
      if (out) writeFileSync(out, JSON.stringify({ name, ratio, ...extra, figures, notes, missed }));
      process.exitCode = missed ? 1 : 0;
    },
  };
}

/** Percentile of a sorted array. */
export const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
