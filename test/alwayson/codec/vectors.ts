/** The C SDK 2.2.1 vectors (test/fixtures/alwayson/csdk-2.2.1.json, copied unchanged from shared/vectors). */
import { readFileSync } from 'node:fs';

export interface Vector {
  name: string;
  kind: 'message' | 'message-chunk' | 'response-body' | 'primitive' | 'infotable';
  description: string;
  hex: string;
  source: string;
}

export const VECTORS: Vector[] = (
  JSON.parse(readFileSync(new URL('../../fixtures/alwayson/csdk-2.2.1.json', import.meta.url), 'utf8')) as {
    vectors: Vector[];
  }
).vectors;

export function vector(name: string): Vector {
  const v = VECTORS.find((x) => x.name === name);
  if (!v) throw new Error(`no vector ${name}`);
  return v;
}

export const hex = (s: string): Buffer => Buffer.from(s.replace(/[^0-9a-fA-F]/g, ''), 'hex');
