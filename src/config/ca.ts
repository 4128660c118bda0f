/** Reads the CA certificate file a setting names (thingworxCa: --ca / TPX_THINGWORX_CA, thingparkCa: --thingpark-ca). */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { settingKey } from './keys.js';

export type CaSetting = 'thingworxCa' | 'thingparkCa';

export function readCaFile(path: string, setting: CaSetting): string {
  const s = settingKey(setting)!;
  const where = `with ${s.flag} or ${s.env}`;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `Cannot read the CA file ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}).`,
      `Give a readable PEM file ${where}.`,
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(
      `${path} holds no PEM certificate.`,
      `Give a PEM file (-----BEGIN CERTIFICATE-----) ${where}.`,
    );
  }
  return pem;
}
