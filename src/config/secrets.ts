/** Secret masking: app keys, client secrets and AS keys are never printed or logged in full. */

/** Masks a secret, keeping at most the last 4 characters when the secret is long enough to stay secret. */
export function mask(secret: string | undefined | null): string {
  if (secret === undefined || secret === null || secret === '') return '';
  if (secret.length < 12) return '*****';
  return `*****${secret.slice(-4)}`;
}

/**
 * Replaces every occurrence of the given secrets in a text by their masked form.
 * Used as a last line of defence on everything the CLI prints.
 */
export function redact(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < 4) continue;
    out = out.split(s).join(mask(s));
  }
  return out;
}
