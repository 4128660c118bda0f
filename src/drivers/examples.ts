/**
 * `tpx driver test`: runs a driver's own examples (examples.json, or Actility's legacy examples/*.examples.json)
 * and compares each result with the expected output: data, errors and warnings for decodes; bytes, fPort and
 * errors for encodes. `"XXXX-XX-XXTXX:XX:XX.XXXZ"` in an expected value matches any ISO date (Actility convention).
 */
import { isDeepStrictEqual } from 'node:util';
import { bytesOf, type DriverDecoder } from './decoder.js';
import type { DriverExample } from './types.js';

export interface ExampleResult {
  description: string;
  type: DriverExample['type'];
  pass: boolean;
  /** What differed (field: expected vs got), empty when it passed. */
  problems: string[];
  expected: Record<string, unknown>;
  actual: Record<string, unknown>;
}

const ANY_DATE = 'XXXX-XX-XXTXX:XX:XX.XXXZ';

/** Deep equality where ANY_DATE in `expected` matches any ISO date string. */
function same(expected: unknown, actual: unknown): boolean {
  if (expected === ANY_DATE) return typeof actual === 'string' && !Number.isNaN(Date.parse(actual));
  if (expected && actual && typeof expected === 'object' && typeof actual === 'object') {
    if (Array.isArray(expected) !== Array.isArray(actual)) return false;
    const ek = Object.keys(expected);
    const ak = Object.keys(actual);
    if (ek.length !== ak.length) return false;
    return ek.every((k) => same((expected as Record<string, unknown>)[k], (actual as Record<string, unknown>)[k]));
  }
  return isDeepStrictEqual(expected, actual);
}

const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

function compare(problems: string[], field: string, expected: unknown, actual: unknown): void {
  if (!same(expected, actual)) problems.push(`${field}: expected ${show(expected)}, got ${show(actual)}`);
}

export async function runExamples(
  decoder: DriverDecoder,
  driver: string,
  examples: DriverExample[],
): Promise<ExampleResult[]> {
  const out: ExampleResult[] = [];
  for (const ex of examples) {
    const problems: string[] = [];
    const expected = ex.output;
    let actual: Record<string, unknown>;
    if (ex.type === 'downlink-encode') {
      const fPort = typeof ex.input.fPort === 'number' ? ex.input.fPort : undefined;
      const r = await decoder.encode(driver, ex.input.data, fPort);
      const errors = r.errors;
      actual = r.ok
        ? { bytes: r.bytes, fPort: r.fPort, errors, warnings: r.warnings }
        : { errors, warnings: r.warnings };
      if (expected.bytes !== undefined) compare(problems, 'bytes', bytesOf(expected.bytes) ?? expected.bytes, r.bytes);
      if (expected.fPort !== undefined) compare(problems, 'fPort', expected.fPort, r.fPort);
    } else {
      const bytes = bytesOf(ex.input.bytes);
      if (!bytes) {
        out.push({
          description: ex.description,
          type: ex.type,
          pass: false,
          problems: ['input.bytes is neither hex nor a list of bytes'],
          expected,
          actual: {},
        });
        continue;
      }
      const input = {
        bytes,
        fPort: Number(ex.input.fPort),
        ...(typeof ex.input.recvTime === 'string' ? { recvTime: ex.input.recvTime } : {}),
      };
      const fn = ex.type === 'downlink-decode' ? 'decodeDownlink' : 'decodeUplink';
      const r = await decoder.decode(driver, input, undefined, fn);
      actual = { ...(r.ok ? { data: r.data } : {}), errors: r.errors, warnings: r.warnings };
      if (expected.data !== undefined || r.ok) compare(problems, 'data', expected.data, r.ok ? r.data : undefined);
    }
    compare(problems, 'errors', expected.errors ?? [], actual.errors);
    if (expected.warnings !== undefined) compare(problems, 'warnings', expected.warnings, actual.warnings);
    out.push({ description: ex.description, type: ex.type, pass: problems.length === 0, problems, expected, actual });
  }
  return out;
}
