/**
 * The JSON form of messages (`tpx alwayson decode --json`, input of `encode`). It is the message model itself;
 * the only additions are for numbers JSON cannot hold: NUMBER and LOCATION values that are NaN, ±Infinity or -0
 * are written as the strings "NaN", "Infinity", "-Infinity", "-0". messageFromJson validates untrusted JSON and
 * throws EncodeError with the path of the first problem.
 */

import { isHexBytes } from '../../util/hex.js';
import { EncodeError } from './errors.js';
import { setOwn } from './primitive.js';
import {
  BASE_TYPES,
  type BaseTypeName,
  CHARACTERISTICS,
  type CharacteristicName,
  DEFAULT_MAX_DEPTH,
  type DecodedMessage,
  ENTITY_TYPES,
  type EntityTypeName,
  type FieldDefinition,
  type InfoTable,
  MESSAGE_CODES,
  type MessageBody,
  type MessageCodeName,
  type MessageHeader,
  type MultipartInfo,
  type TwValue,
} from './types.js';

const SPECIAL: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0))) {
    return Object.is(value, -0) ? '-0' : String(value);
  }
  return value;
}

/** A JSON-safe copy of a message (or any model value). */
export function toJsonDocument<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value, replacer));
}

/** JSON text of a message (or any model value), one line. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value, replacer);
}

type Obj = Record<string, unknown>;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new EncodeError(path, 'an object', describe(v));
  return v as Obj;
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new EncodeError(path, 'a string', describe(v));
  return v;
}

function int(v: unknown, path: string, min: number, max: number, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new EncodeError(path, `an integer from ${min} to ${max}`, describe(v));
  }
  return v;
}

function num(v: unknown, path: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && Object.hasOwn(SPECIAL, v)) return SPECIAL[v]!;
  throw new EncodeError(path, 'a number (or "NaN", "Infinity", "-Infinity", "-0")', describe(v));
}

function record(v: unknown, path: string): Record<string, string> {
  const o = obj(v ?? {}, path);
  const out: Record<string, string> = {};
  for (const k of Object.keys(o)) setOwn(out, k, str(o[k], `${path}.${k}`));
  return out;
}

const DECIMAL = /^-?(0|[1-9][0-9]*)$/;

function int64String(v: unknown, path: string): string {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  if (typeof v === 'string' && DECIMAL.test(v)) return v;
  throw new EncodeError(path, 'an int64 as a decimal string', describe(v));
}

export function valueFromJson(v: unknown, path = 'value', depth = DEFAULT_MAX_DEPTH): TwValue {
  const o = obj(v, path);
  const bt = o.baseType;
  if (typeof bt !== 'string' || !Object.hasOwn(BASE_TYPES, bt)) {
    throw new EncodeError(`${path}.baseType`, 'a base type name (§5.3)', describe(bt));
  }
  const p = `${path}.value`;
  const x = o.value;
  switch (bt as BaseTypeName) {
    case 'NOTHING':
      return { baseType: 'NOTHING' };
    case 'NUMBER':
      return { baseType: 'NUMBER', value: num(x, p) };
    case 'INTEGER':
      return { baseType: 'INTEGER', value: int(x, p, -0x80000000, 0x7fffffff) };
    case 'LONG':
      return { baseType: 'LONG', value: int64String(x, p) };
    case 'TIMESPAN':
      return { baseType: 'TIMESPAN', value: int64String(x, p) };
    case 'BOOLEAN':
      if (typeof x !== 'boolean') throw new EncodeError(p, 'true or false', describe(x));
      return { baseType: 'BOOLEAN', value: x };
    case 'DATETIME':
      return { baseType: 'DATETIME', value: int(x, p, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) };
    case 'LOCATION': {
      const l = obj(x, p);
      return {
        baseType: 'LOCATION',
        value: {
          longitude: num(l.longitude, `${p}.longitude`),
          latitude: num(l.latitude, `${p}.latitude`),
          elevation: num(l.elevation, `${p}.elevation`),
        },
      };
    }
    case 'BLOB':
    case 'IMAGE':
      if (typeof x !== 'string' || !isHexBytes(x)) throw new EncodeError(p, 'bytes as a hex string', describe(x));
      return { baseType: bt as 'BLOB' | 'IMAGE', value: x.toLowerCase() };
    case 'VARIANT':
      if (depth <= 0) throw new EncodeError(p, 'less deeply nested values');
      return { baseType: 'VARIANT', value: valueFromJson(x, p, depth - 1) };
    case 'INFOTABLE':
      if (depth <= 0) throw new EncodeError(p, 'less deeply nested values');
      return { baseType: 'INFOTABLE', value: infoTableFromJson(x, p, depth - 1) };
    default:
      return { baseType: bt, value: str(x, p) } as TwValue;
  }
}

export function infoTableFromJson(v: unknown, path = 'infotable', depth = DEFAULT_MAX_DEPTH): InfoTable {
  const o = obj(v, path);
  const shape = o.dataShape ?? [];
  if (!Array.isArray(shape)) throw new EncodeError(`${path}.dataShape`, 'an array of fields', describe(shape));
  const dataShape: FieldDefinition[] = shape.map((f, i) => {
    const fp = `${path}.dataShape[${i}]`;
    const fo = obj(f, fp);
    const baseType = fo.baseType;
    if (typeof baseType !== 'string' || !Object.hasOwn(BASE_TYPES, baseType)) {
      throw new EncodeError(`${fp}.baseType`, 'a base type name (§5.3)', describe(baseType));
    }
    const ao = obj(fo.aspects ?? {}, `${fp}.aspects`);
    const aspects: Record<string, TwValue> = {};
    for (const k of Object.keys(ao)) setOwn(aspects, k, valueFromJson(ao[k], `${fp}.aspects.${k}`, depth));
    return {
      name: str(fo.name, `${fp}.name`),
      description: str(fo.description ?? '', `${fp}.description`),
      baseType: baseType as BaseTypeName,
      aspects,
    };
  });
  const rowsIn = o.rows ?? [];
  if (!Array.isArray(rowsIn)) throw new EncodeError(`${path}.rows`, 'an array of rows', describe(rowsIn));
  const rows = rowsIn.map((row, i) => {
    const rp = `${path}.rows[${i}]`;
    if (!Array.isArray(row) || row.length !== dataShape.length) {
      throw new EncodeError(rp, `an array of ${dataShape.length} value(s), one per field`, describe(row));
    }
    return row.map((x, j) => valueFromJson(x, `${rp}[${j}]`, depth));
  });
  return { dataShape, rows };
}

function headerFromJson(v: unknown): MessageHeader {
  const h = obj(v, 'header');
  let code = h.code;
  if (code === undefined && typeof h.codeValue === 'number') {
    code = Object.keys(MESSAGE_CODES).find((k) => MESSAGE_CODES[k as MessageCodeName] === h.codeValue);
  }
  if (typeof code !== 'string' || !Object.hasOwn(MESSAGE_CODES, code)) {
    throw new EncodeError('header.code', 'a message code name (§4)', describe(code));
  }
  const codeValue = MESSAGE_CODES[code as MessageCodeName];
  if (h.codeValue !== undefined && h.codeValue !== codeValue) {
    throw new EncodeError('header.codeValue', `${codeValue} (the value of ${code})`, describe(h.codeValue));
  }
  let multipart: MultipartInfo | null = null;
  if (h.multipart !== undefined && h.multipart !== null) {
    const m = obj(h.multipart, 'header.multipart');
    multipart = {
      chunkCount: int(m.chunkCount, 'header.multipart.chunkCount', 1, 0xffff),
      chunkSize: int(m.chunkSize, 'header.multipart.chunkSize', 1, 0xffff),
    };
    if (m.chunkId !== undefined)
      multipart = { chunkId: int(m.chunkId, 'header.multipart.chunkId', 1, 0xffff), ...multipart };
  }
  return {
    version: int(h.version, 'header.version', 0, 255, 1),
    code: code as MessageCodeName,
    codeValue,
    requestId: int(h.requestId, 'header.requestId', 0, 0xffffffff, 0),
    endpointId: int(h.endpointId, 'header.endpointId', 0, 0xffffffff, 0),
    sessionId: int(h.sessionId, 'header.sessionId', 0, 0xffffffff, 0),
    multipart,
  };
}

function enumName<T extends string>(table: Record<T, number>, v: unknown, path: string, what: string): T {
  if (typeof v !== 'string' || !Object.hasOwn(table, v)) throw new EncodeError(path, what, describe(v));
  return v as T;
}

function bodyFromJson(v: unknown): MessageBody {
  const b = obj(v, 'body');
  const table = (x: unknown, p: string) => (x === null || x === undefined ? null : infoTableFromJson(x, p));
  switch (b.kind) {
    case 'auth':
      return { kind: 'auth', claims: record(b.claims, 'body.claims') };
    case 'bind':
    case 'unbind': {
      let gateway = null;
      if (b.gateway !== null && b.gateway !== undefined) {
        const g = obj(b.gateway, 'body.gateway');
        gateway = { name: str(g.name, 'body.gateway.name'), type: str(g.type, 'body.gateway.type') };
      }
      const names = b.names ?? [];
      if (!Array.isArray(names)) throw new EncodeError('body.names', 'an array of thing names', describe(names));
      return { kind: b.kind, gateway, names: names.map((n, i) => str(n, `body.names[${i}]`)) };
    }
    case 'request':
      return {
        kind: 'request',
        entityType: enumName(ENTITY_TYPES, b.entityType ?? 'THING', 'body.entityType', 'an entity type (§5.1)'),
        entityName: str(b.entityName, 'body.entityName'),
        characteristic: enumName<CharacteristicName>(
          CHARACTERISTICS,
          b.characteristic,
          'body.characteristic',
          'PROPERTIES, SERVICES or EVENTS',
        ),
        name: str(b.name, 'body.name'),
        headers: record(b.headers, 'body.headers'),
        params: table(b.params, 'body.params'),
      };
    case 'response':
      return {
        kind: 'response',
        reason: b.reason === null || b.reason === undefined ? null : str(b.reason, 'body.reason'),
        content: table(b.content, 'body.content'),
      };
    case 'chunk': {
      if (typeof b.data !== 'string' || !isHexBytes(b.data))
        throw new EncodeError('body.data', 'chunk data as a hex string', describe(b.data));
      const out: MessageBody = { kind: 'chunk', data: b.data.toLowerCase() };
      if (b.entityType !== undefined)
        out.entityType = enumName<EntityTypeName>(
          ENTITY_TYPES,
          b.entityType,
          'body.entityType',
          'an entity type (§5.1)',
        );
      if (b.entityName !== undefined) out.entityName = str(b.entityName, 'body.entityName');
      return out;
    }
    default:
      throw new EncodeError(
        'body.kind',
        '"auth", "bind", "unbind", "request", "response" or "chunk"',
        describe(b.kind),
      );
  }
}

/** Validates a JSON document (as toJsonDocument() makes it) and returns the message, with its trailing bytes. */
export function messageFromJson(doc: unknown): DecodedMessage {
  const o = obj(doc, '');
  const trailing = o.trailing;
  if (trailing !== undefined && trailing !== null && (typeof trailing !== 'string' || !isHexBytes(trailing))) {
    throw new EncodeError('trailing', 'null or bytes as a hex string', describe(trailing));
  }
  return {
    header: headerFromJson(o.header),
    body: bodyFromJson(o.body),
    trailing: typeof trailing === 'string' && trailing.length > 0 ? trailing.toLowerCase() : null,
  };
}
