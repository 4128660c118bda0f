/**
 * Checks a connection configuration against the connector's `configurationSchema` from GET /connectors
 * (JSON-Schema draft-04, `additionalProperties: false`) before sending it, so that mistakes are named locally.
 * Covers the keywords ThingPark's connector schemas use: type, properties, required, additionalProperties,
 * enum, minimum, maximum, minLength, maxLength, pattern, items.
 */

export interface SchemaProblem {
  /** Dotted path, e.g. `configuration.pipeCount`. */
  path: string;
  message: string;
}

type Schema = Record<string, unknown>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function matchesType(t: unknown, v: unknown): boolean {
  if (Array.isArray(t)) return t.some((x) => matchesType(x, v));
  switch (t) {
    case undefined:
      return true;
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'object':
      return isObject(v);
    case 'array':
      return Array.isArray(v);
    case 'null':
      return v === null;
    default:
      return true;
  }
}

function walk(schema: Schema, value: unknown, path: string, out: SchemaProblem[]): void {
  if (!matchesType(schema.type, value)) {
    out.push({
      path,
      message: `must be ${Array.isArray(schema.type) ? schema.type.join(' or ') : String(schema.type)}`,
    });
    return;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => e === value)) {
    out.push({ path, message: `must be one of ${schema.enum.map(String).join(', ')}` });
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) {
      out.push({
        path,
        message: schema.minLength === 1 ? 'must not be empty' : `must have at least ${schema.minLength} characters`,
      });
    }
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) {
      out.push({ path, message: `must have at most ${schema.maxLength} characters` });
    }
    if (typeof schema.pattern === 'string') {
      let re: RegExp | undefined;
      try {
        re = new RegExp(schema.pattern, 'u');
      } catch {
        re = undefined; // a pattern this engine cannot read is left to the server
      }
      if (re && !re.test(value)) out.push({ path, message: `does not have the expected form (${schema.pattern})` });
    }
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum)
      out.push({ path, message: `must be at least ${schema.minimum}` });
    if (typeof schema.maximum === 'number' && value > schema.maximum)
      out.push({ path, message: `must be at most ${schema.maximum}` });
  }
  if (isObject(value)) {
    const props = isObject(schema.properties) ? schema.properties : {};
    if (Array.isArray(schema.required)) {
      for (const r of schema.required)
        if (typeof r === 'string' && value[r] === undefined) out.push({ path: `${path}.${r}`, message: 'is required' });
    }
    for (const [k, v] of Object.entries(value)) {
      const sub = props[k];
      if (isObject(sub)) walk(sub, v, `${path}.${k}`, out);
      else if (schema.additionalProperties === false)
        out.push({ path: `${path}.${k}`, message: 'is not a setting this connector knows' });
    }
  }
  if (Array.isArray(value) && isObject(schema.items)) {
    for (const [i, item] of value.entries()) walk(schema.items as Schema, item, `${path}[${i}]`, out);
  }
}

/** Every problem of `value` against `schema` (empty when valid). */
export function checkSchema(
  schema: Record<string, unknown> | undefined,
  value: unknown,
  path = 'configuration',
): SchemaProblem[] {
  if (!schema) return [];
  const out: SchemaProblem[] = [];
  walk(schema, value, path, out);
  return out;
}
