/**
 * The one set of hex rules: whole bytes of hex, hex of a fixed length, and DevEUIs.
 *
 * A DevEUI is the 64-bit EUI of a LoRaWAN device. ThingPark writes it as 16 hex digits (`DEVEUI`, the wire form
 * its documents are validated against); tpx names Things by its canonical form, 16 upper-case hex digits.
 * People write it in any case, whole or grouped (00-18-B2-…, 00:18:b2:…, 0018.b200.…, 00 18 b2 …):
 * normaliseDevEui() accepts all of these, drops the separators (":", "-", ".", "_", white space) and returns the
 * canonical form, so that a DevEUI typed on the command line, sent in a tunnel document or asked for in a downlink
 * names the same Thing.
 */

/** Exactly `count` hex digits, any case (for schemas: a CorrelationID is 16, an AS key 32, a token 64). */
export function hexPattern(count: number): RegExp {
  return new RegExp(`^[0-9A-Fa-f]{${count}}$`);
}

/** 16 hex digits, any case: a DevEUI as ThingPark writes it. */
export const DEVEUI = hexPattern(16);

/** Whole bytes of hex, any case; the empty string too (zero bytes). */
export const HEX_BYTES = /^(?:[0-9A-Fa-f]{2})*$/;

/** Hex digits, any number. */
const HEX_DIGITS = /^[0-9A-Fa-f]*$/;

/** The separators people put between the digits of a DevEUI. */
const DEVEUI_SEPARATORS = /[\s:\-._]/g;

/** True for whole bytes of hex; with `nonEmpty`, at least one byte. */
export function isHexBytes(text: string, options: { nonEmpty?: boolean } = {}): boolean {
  return HEX_BYTES.test(text) && (!options.nonEmpty || text.length > 0);
}

/** True for exactly `count` hex digits, any case. */
export function isHexDigits(text: string, count: number): boolean {
  return text.length === count && HEX_DIGITS.test(text);
}

/** The canonical DevEUI (16 upper-case hex digits) of what people or ThingPark write, or undefined. */
export function normaliseDevEui(input: string): string | undefined {
  const compact = input.trim().replace(DEVEUI_SEPARATORS, '');
  return DEVEUI.test(compact) ? compact.toUpperCase() : undefined;
}

/** True when `name` is a DevEUI in its canonical form (the name of a Thing tpx made for a device). */
export function isCanonicalDevEui(name: string): boolean {
  return DEVEUI.test(name) && name === name.toUpperCase();
}

/** Why the input is not a DevEUI (data for the message): a character that is not a hex digit, or the count. */
export function devEuiProblem(input: string): { notHex: string } | { digits: number } | undefined {
  if (normaliseDevEui(input) !== undefined) return undefined;
  const compact = input.trim().replace(DEVEUI_SEPARATORS, '');
  const bad = [...compact].find((c) => !HEX_DIGITS.test(c));
  return bad !== undefined ? { notHex: bad } : { digits: compact.length };
}
