/**
 * Typed ThingWorx properties from a driver's uplink.schema.json: every scalar field (nested objects flattened with
 * `_`, arrays left in decodedPayload) becomes a logged property of the matching base type.
 */
import { TEMPLATE_PROPERTY_NAMES } from '../thingworx/template.js';
import type { JsonSchema } from './types.js';

/** The JSON properties every Thing with a driver gets. */
export const DRIVER_PROPS = { decodedPayload: 'decodedPayload', decodeErrors: 'decodeErrors' } as const;

export interface TypedField {
  /** ThingWorx property name. */
  name: string;
  /** Path of the value in the decoded `data`. */
  path: string[];
  baseType: 'NUMBER' | 'STRING' | 'BOOLEAN';
  description: string;
}

const RESERVED = new Set<string>([...Object.values(TEMPLATE_PROPERTY_NAMES), ...Object.values(DRIVER_PROPS)]);

function typeOf(s: JsonSchema): TypedField['baseType'] | 'object' | undefined {
  const types = Array.isArray(s.type) ? s.type.filter((t) => t !== 'null') : [s.type];
  const t = types.length === 1 ? types[0] : undefined;
  if (t === 'number' || t === 'integer') return 'NUMBER';
  if (t === 'string') return 'STRING';
  if (t === 'boolean') return 'BOOLEAN';
  if (t === 'object' || (t === undefined && s.properties)) return 'object';
  return undefined;
}

/** ThingWorx property names: letters, digits and `_`, not starting with a digit, not one of the template's. */
export function propertyName(path: string[]): string {
  let n = path.join('_').replace(/[^A-Za-z0-9_]/g, '_');
  if (/^[0-9]/.test(n)) n = `_${n}`;
  return RESERVED.has(n) ? `d_${n}` : n;
}

/** The scalar fields of a schema (depth ≤ 4), in schema order. */
export function typedFields(schema: JsonSchema | undefined): TypedField[] {
  const out: TypedField[] = [];
  const seen = new Set<string>();
  const walk = (s: JsonSchema, path: string[]) => {
    if (path.length > 4 || !s.properties) return;
    for (const [key, sub] of Object.entries(s.properties)) {
      if (!sub || typeof sub !== 'object') continue;
      const t = typeOf(sub);
      const p = [...path, key];
      if (t === 'object') walk(sub, p);
      else if (t) {
        const name = propertyName(p);
        if (seen.has(name)) continue;
        seen.add(name);
        out.push({ name, path: p, baseType: t, description: sub.description ?? `decoded ${p.join('.')}` });
      }
    }
  };
  if (schema) walk(schema, []);
  return out;
}

/** The value at `path` when it has the field's type (finite numbers only), else undefined. */
export function fieldValue(data: unknown, f: TypedField): number | string | boolean | undefined {
  let v: unknown = data;
  for (const k of f.path) {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  if (f.baseType === 'NUMBER') return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  if (f.baseType === 'BOOLEAN') return typeof v === 'boolean' ? v : undefined;
  return typeof v === 'string' ? v : undefined;
}
