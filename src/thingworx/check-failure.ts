/** How the check modules take a ThingWorx failure: as a result (attempt), and in the platform's own words. */
import { ThingWorxError } from './errors.js';

export async function attempt<T>(
  f: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: ThingWorxError }> {
  try {
    return { ok: true, value: await f() };
  } catch (err) {
    if (err instanceof ThingWorxError) return { ok: false, error: err };
    throw err;
  }
}

/** The platform's own words, when the message does not already quote them. */
export function text(e: ThingWorxError): string {
  const t = e.platformText.split('\n')[0] ?? '';
  return t && !e.message.includes(t) ? `ThingWorx: "${t}"` : '';
}

export function say(e: ThingWorxError): string {
  return `${e.message} ${text(e)}`.trim();
}
