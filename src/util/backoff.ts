/** Capped exponential backoff with full jitter for reconnects. */

export interface BackoffOptions {
  /** First delay, ms (default 500). */
  initialMs?: number;
  /** Largest delay, ms (default 30 000). */
  maxMs?: number;
  /** Multiplier per attempt (default 2). */
  factor?: number;
  /** Fraction of the delay that is random, 0..1 (default 0.5: delay is between 50 % and 100 % of the step). */
  jitter?: number;
}

/** Delay before reconnect attempt `attempt` (1-based). `random` is injectable for tests. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const factor = options.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const step = Math.min(max, initial * factor ** Math.max(0, attempt - 1));
  return Math.round(step * (1 - jitter) + step * jitter * random());
}
