/**
 * Builds ThingWorxRest options from resolved settings (URL, app key, CA file name, insecure flag):
 * reads the CA file, so that every command treats --ca / TPX_THINGWORX_CA the same way.
 */
import { readCaFile } from '../config/ca.js';
import type { ThingWorxRestOptions } from './rest.js';

export interface ThingWorxSettings {
  url: string;
  appKey: string;
  /** CA certificate file (PEM). */
  caFile?: string;
  insecure?: boolean | string;
  timeoutMs?: number;
}

import { truthy } from '../config/settings.js';

export { truthy };

export function restOptions(s: ThingWorxSettings, extra: Partial<ThingWorxRestOptions> = {}): ThingWorxRestOptions {
  return {
    url: s.url,
    appKey: s.appKey,
    ...(s.caFile ? { ca: readCaFile(s.caFile, 'thingworxCa') } : {}),
    insecure: truthy(s.insecure),
    ...(s.timeoutMs ? { timeoutMs: s.timeoutMs } : {}),
    ...extra,
  };
}
