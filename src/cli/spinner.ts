/**
 * A spinner on the status line of a terminal while an outgoing HTTP call is slow: nothing for the first second,
 * then "⠋ Waiting for ThingPark at host (listing connections)… 3 s" until the call ends. Fed by the HTTP helper's
 * events; draws through the IO object (io.status), so --json, --quiet and a non-TTY stderr show nothing.
 */
import { formatElapsed } from '../util/duration.js';
import type { HttpEvent } from '../util/http.js';
import type { IO } from './io.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface SpinnerTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  setInterval(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
  now(): number;
}

const realTimers: SpinnerTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
};

/** Returns the onHttp listener for one command's clients. `afterMs`: quiet period before the spinner shows. */
export function slowCallSpinner(io: IO, afterMs = 1000, timers: SpinnerTimers = realTimers): (e: HttpEvent) => void {
  if (io.json || io.quiet || !io.isStderrTTY) return () => undefined;
  let wait: unknown;
  let tick: unknown;
  let shown = false;
  const stop = () => {
    if (wait !== undefined) timers.clear(wait);
    if (tick !== undefined) timers.clear(tick);
    wait = tick = undefined;
    if (shown) io.clearStatus();
    shown = false;
  };
  return (e) => {
    if (e.type === 'start') {
      stop();
      const started = timers.now();
      let frame = 0;
      const draw = () => {
        const s = Math.floor((timers.now() - started) / 1000);
        io.status(
          `${FRAMES[frame++ % FRAMES.length]} Waiting for ${e.service} at ${e.host} (${e.operation})… ${formatElapsed(s * 1000)}`,
        );
        shown = true;
      };
      wait = timers.setTimeout(() => {
        draw();
        tick = timers.setInterval(draw, 100);
      }, afterMs);
    } else if (e.type === 'end') {
      stop();
    }
  };
}
