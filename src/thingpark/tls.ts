/**
 * The HTTP dispatcher for ThingPark (API, token endpoint, LRC downlinks) when its certificate is signed by a CA of
 * the user's (ThingPark Enterprise on premises): verification stays on, TLS 1.2 is the minimum.
 */
import { Agent, type Dispatcher } from 'undici';

export function thingparkDispatcher(ca: string | undefined): Dispatcher | undefined {
  return ca ? new Agent({ connect: { ca, minVersion: 'TLSv1.2' } }) : undefined;
}

/** True when a request failed because the server's certificate is not trusted (or not valid for the host). */
export function isCertificateError(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(e.code))
      return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** The fix for a request that failed on ThingPark's certificate; undefined for any other failure. */
export function untrustedFix(err: unknown): string | undefined {
  return isCertificateError(err)
    ? "ThingPark's certificate is not trusted here: give the CA that signed it (a PEM file) with --thingpark-ca or " +
        'TPX_THINGPARK_CA. Verification stays on.'
    : undefined;
}
