/**
 * The HTTP dispatcher for ThingPark (API, token endpoint, LRC downlinks) when its certificate is signed by a CA of
 * the user's (ThingPark Enterprise on premises): verification stays on, TLS 1.2 is the minimum.
 */
import { Agent, type Dispatcher } from 'undici';

export function thingparkDispatcher(ca: string | undefined): Dispatcher | undefined {
  return ca ? new Agent({ connect: { ca, minVersion: 'TLSv1.2' } }) : undefined;
}
