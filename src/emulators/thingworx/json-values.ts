/**
 * The emulator's values as JSON. Values in the emulator are kept as JSON values (what the REST API shows); these helpers convert between
 * them, AlwaysOn typed values (codec TwValue/InfoTable) and ThingWorx's infotable JSON.
 */
import type { BaseTypeName, FieldDefinition, InfoTable, TwValue } from '../../alwayson/codec/types.js';
import { isBaseType } from './model.js';

export interface FieldDefinitionJson {
  name: string;
  baseType: string;
  description: string;
  ordinal: number;
  aspects: Record<string, unknown>;
}

export interface InfoTableJson {
  dataShape: { fieldDefinitions: Record<string, FieldDefinitionJson> };
  rows: Record<string, unknown>[];
}

const STRINGISH = new Set<string>([
  'NUMBER',
  'INTEGER',
  'LONG',
  'BOOLEAN',
  'DATETIME',
  'TIMESPAN',
  'INFOTABLE',
  'LOCATION',
  'IMAGE',
  'BLOB',
  'VARIANT',
  'NOTHING',
  'JSON',
]);

/** Builds an infotable; `fields` are [name, baseType] pairs (or [name, baseType, aspects]). */
export function infoTable(
  fields: ([string, string] | [string, string, Record<string, unknown>])[],
  rows: Record<string, unknown>[],
): InfoTableJson {
  const fieldDefinitions: Record<string, FieldDefinitionJson> = {};
  fields.forEach(([name, baseType, aspects], ordinal) => {
    fieldDefinitions[name] = { name, baseType, description: '', ordinal, aspects: aspects ?? {} };
  });
  return { dataShape: { fieldDefinitions }, rows };
}

export function resultTable(baseType: string, value: unknown): InfoTableJson {
  return infoTable([['result', baseType]], [{ result: value }]);
}

function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

export function twToJson(v: TwValue): unknown {
  switch (v.baseType) {
    case 'NOTHING':
      return null;
    case 'VARIANT':
      return twToJson(v.value);
    case 'INFOTABLE':
      return infoTableToJson(v.value);
    case 'BLOB':
    case 'IMAGE':
      return hexToBase64(v.value);
    case 'LONG':
    case 'TIMESPAN':
      return Number(v.value);
    case 'JSON':
      try {
        return JSON.parse(v.value);
      } catch {
        return v.value;
      }
    default:
      return v.value;
  }
}

function inferType(v: unknown): BaseTypeName {
  if (typeof v === 'number') return 'NUMBER';
  if (typeof v === 'boolean') return 'BOOLEAN';
  if (typeof v === 'string') return 'STRING';
  if (v && typeof v === 'object' && 'dataShape' in v && 'rows' in v) return 'INFOTABLE';
  return 'JSON';
}

/** Converts a JSON value to a typed value of the given base type (the conversions ThingWorx applies to inputs). */
export function jsonToTw(baseType: string, v: unknown): TwValue {
  if (v === null || v === undefined) return { baseType: 'NOTHING' };
  const bt = isBaseType(baseType) ? baseType : 'STRING';
  switch (bt) {
    case 'NOTHING':
      return { baseType: 'NOTHING' };
    case 'NUMBER':
      return { baseType: 'NUMBER', value: Number(v) };
    case 'INTEGER':
      return { baseType: 'INTEGER', value: Math.trunc(Number(v)) };
    case 'LONG':
    case 'TIMESPAN':
      return { baseType: bt, value: String(Math.trunc(Number(v))) };
    case 'BOOLEAN':
      return { baseType: 'BOOLEAN', value: v === true || v === 'true' || v === 1 };
    case 'DATETIME':
      return { baseType: 'DATETIME', value: typeof v === 'number' ? v : Date.parse(String(v)) || 0 };
    case 'LOCATION': {
      const o = (typeof v === 'object' ? v : {}) as Record<string, unknown>;
      return {
        baseType: 'LOCATION',
        value: {
          longitude: Number(o.longitude ?? 0),
          latitude: Number(o.latitude ?? 0),
          elevation: Number(o.elevation ?? 0),
        },
      };
    }
    case 'BLOB':
    case 'IMAGE':
      return { baseType: bt, value: Buffer.from(String(v), 'base64').toString('hex') };
    case 'INFOTABLE':
      return { baseType: 'INFOTABLE', value: jsonToInfoTable(v as InfoTableJson) };
    case 'VARIANT':
      return { baseType: 'VARIANT', value: jsonToTw(inferType(v), v) };
    case 'JSON':
      return { baseType: 'JSON', value: typeof v === 'string' ? v : JSON.stringify(v) };
    default:
      return { baseType: bt, value: typeof v === 'string' ? v : JSON.stringify(v) } as TwValue;
  }
}

/** Normalises a JSON input to what the property/parameter of that base type stores (e.g. "21.5" -> 21.5). */
export function coerce(baseType: string, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (baseType === 'JSON' && typeof v === 'string') {
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }
  if (!STRINGISH.has(baseType) && typeof v !== 'string') return typeof v === 'object' ? JSON.stringify(v) : String(v);
  return twToJson(jsonToTw(baseType, v));
}

function fieldJson(f: FieldDefinition, ordinal: number): FieldDefinitionJson {
  const aspects: Record<string, unknown> = {};
  for (const [k, a] of Object.entries(f.aspects)) aspects[k] = twToJson(a);
  return { name: f.name, baseType: f.baseType, description: f.description, ordinal, aspects };
}

export function infoTableToJson(it: InfoTable): InfoTableJson {
  const fieldDefinitions: Record<string, FieldDefinitionJson> = {};
  it.dataShape.forEach((f, i) => {
    fieldDefinitions[f.name] = fieldJson(f, i);
  });
  const rows = it.rows.map((r) => {
    const row: Record<string, unknown> = {};
    it.dataShape.forEach((f, i) => {
      const v = r[i];
      if (v !== undefined && v.baseType !== 'NOTHING') row[f.name] = twToJson(v);
    });
    return row;
  });
  return { dataShape: { fieldDefinitions }, rows };
}

export function jsonToInfoTable(it: InfoTableJson): InfoTable {
  const defs = Object.values(it?.dataShape?.fieldDefinitions ?? {}).sort((a, b) => (a.ordinal ?? 0) - (b.ordinal ?? 0));
  const dataShape: FieldDefinition[] = defs.map((d) => ({
    name: d.name,
    description: d.description ?? '',
    baseType: isBaseType(String(d.baseType)) ? (d.baseType as BaseTypeName) : 'STRING',
    aspects: {},
  }));
  const rows = (it?.rows ?? []).map((r) => dataShape.map((f) => jsonToTw(f.baseType, r[f.name])));
  return { dataShape, rows };
}

/** The first row of an infotable as a name -> JSON value object (service parameters). */
export function paramsFromInfoTable(it: InfoTable | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!it || it.rows.length === 0) return out;
  const row = it.rows[0]!;
  it.dataShape.forEach((f, i) => {
    const v = row[i];
    if (v !== undefined) out[f.name] = twToJson(v);
  });
  return out;
}
