/**
 * LoRaWAN limits, defined once (no imports: the CLI reads them at the top of its command files). An uplink
 * reports any FPort (0 carries MAC commands only); an application downlink uses 1..223 (224 is the LoRaWAN test
 * port, 225..255 are reserved; ThingPark refuses other ports with code 104).
 */
export const FPORT = { uplink: { min: 0, max: 255 }, downlink: { min: 1, max: 223 } } as const;

/** The largest downlink payload the LRC tunnel takes (bytes). */
export const MAX_DOWNLINK_PAYLOAD_BYTES = 250;
