/** Reads a CA certificate file named by a setting (--ca / TPX_THINGWORX_CA, --thingpark-ca / TPX_THINGPARK_CA). */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';

export function readCaFile(path: string, names: { flag: string; env: string }): string {
  const where = `with ${names.flag} or ${names.env}`;
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
