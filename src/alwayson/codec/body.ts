/** Message bodies (research/alwayson.md §6): AUTH, BIND/UNBIND, request, response. */
import { EncodeError, hexByte } from './errors.js';
import { readInfoTable, setOwn, writeInfoTable } from './primitive.js';
import type { Reader } from './reader.js';
import {
  CHARACTERISTICS,
  ENTITY_TYPES,
  type EntityTypeName,
  type MessageBody,
  type MessageCodeName,
  namesByByte,
} from './types.js';
import type { Writer } from './writer.js';

const ENTITY_BY_BYTE = namesByByte(ENTITY_TYPES);
const CHARACTERISTIC_BY_BYTE = namesByByte(CHARACTERISTICS);

export type BodyKind = 'request' | 'auth' | 'bind' | 'unbind' | 'response';

/** Which body a message code carries (§4.3), or undefined for codes without a defined body (UNKNOWN, KEEP_ALIVE). */
export function bodyKindOf(code: number): BodyKind | undefined {
  if (code >= 0x01 && code <= 0x04) return 'request';
  if (code === 0x14) return 'auth';
  if (code === 0x0a) return 'bind';
  if (code === 0x0b) return 'unbind';
  if (code >= 0x40) return 'response';
  return undefined;
}

export function entityTypeName(byte: number): EntityTypeName | undefined {
  return ENTITY_BY_BYTE[byte];
}

export function entityTypeByte(name: string): number | undefined {
  return Object.hasOwn(ENTITY_TYPES, name) ? ENTITY_TYPES[name as EntityTypeName] : undefined;
}

export function readEntityType(r: Reader): EntityTypeName {
  const at = r.pos;
  const b = r.u8('an entity type byte');
  const name = ENTITY_BY_BYTE[b];
  if (name === undefined) r.fail('a known entity type byte', hexByte(b), at);
  return name;
}

function readPairs(r: Reader, count: number, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const at = r.pos;
    const name = r.str(`a ${what} name`);
    if (Object.hasOwn(out, name)) r.fail(`a ${what} name not used before in this message`, JSON.stringify(name), at);
    setOwn(out, name, r.str(`a ${what} value`));
  }
  return out;
}

/** Reads the body of a message with code `code` (not a multipart chunk). */
export function readBody(r: Reader, kind: BodyKind, depth: number): MessageBody {
  switch (kind) {
    case 'request': {
      const entityType = readEntityType(r);
      const entityName = r.str('an entity name');
      const cAt = r.pos;
      const cb = r.u8('a characteristic byte');
      const characteristic = CHARACTERISTIC_BY_BYTE[cb];
      if (characteristic === undefined) {
        r.fail('a characteristic byte (0x01 PROPERTIES, 0x02 SERVICES, 0x03 EVENTS)', hexByte(cb), cAt);
      }
      const name = r.str('a characteristic name');
      const headers = readPairs(r, r.u8('a request header count'), 'request header');
      const pAt = r.pos;
      const pt = r.u8('a params type byte (0x05 INFOTABLE or 0xFF NOTHING)');
      let params = null;
      if (pt === 5) params = readInfoTable(r, depth);
      else if (pt !== 0xff) r.fail('a params type byte (0x05 INFOTABLE or 0xFF NOTHING)', hexByte(pt), pAt);
      return { kind: 'request', entityType, entityName, characteristic, name, headers, params };
    }
    case 'auth':
      return { kind: 'auth', claims: readPairs(r, r.u8('a claim count'), 'claim') };
    case 'bind':
    case 'unbind': {
      let gateway: { name: string; type: string } | null = null;
      if (r.u8('a gateway flag byte') !== 0) {
        const name = r.str('a gateway name');
        gateway = { name, type: r.str('a gateway type') };
      }
      const count = r.u16('a 2-byte name count');
      const names: string[] = [];
      for (let i = 0; i < count; i++) names.push(r.str('a thing name'));
      return { kind, gateway, names };
    }
    case 'response': {
      const reason = r.u8('a reason marker byte') !== 0 ? r.str('a reason string') : null;
      const at = r.pos;
      const ct = r.u8('a content type byte (0x05 INFOTABLE or 0xFF NOTHING)');
      let content = null;
      if (ct === 5) content = readInfoTable(r, depth);
      else if (ct !== 0xff) r.fail('a content type byte (0x05 INFOTABLE or 0xFF NOTHING)', hexByte(ct), at);
      return { kind: 'response', reason, content };
    }
  }
}

function writePairs(w: Writer, pairs: Record<string, string>, path: string): void {
  const names = Object.keys(pairs);
  if (names.length > 255) throw new EncodeError(path, 'at most 255 entries', `${names.length}`);
  w.u8(names.length);
  for (const n of names) {
    w.str(n);
    w.str(pairs[n]!);
  }
}

/** The body kinds a message code accepts. */
function kindMatches(kind: BodyKind | undefined, body: MessageBody): boolean {
  return kind === body.kind;
}

export function writeBody(w: Writer, code: MessageCodeName, codeValue: number, body: MessageBody, depth: number): void {
  const expected = bodyKindOf(codeValue);
  if (body.kind !== 'chunk' && !kindMatches(expected, body)) {
    throw new EncodeError(
      'body.kind',
      expected ? `"${expected}" for code ${code}` : `no message with code ${code} (it has no defined body)`,
      JSON.stringify(body.kind),
    );
  }
  switch (body.kind) {
    case 'request': {
      const et = entityTypeByte(body.entityType);
      if (et === undefined)
        throw new EncodeError('body.entityType', 'a known entity type', JSON.stringify(body.entityType));
      const ch = Object.hasOwn(CHARACTERISTICS, body.characteristic) ? CHARACTERISTICS[body.characteristic] : undefined;
      if (ch === undefined) {
        throw new EncodeError(
          'body.characteristic',
          'PROPERTIES, SERVICES or EVENTS',
          JSON.stringify(body.characteristic),
        );
      }
      w.u8(et);
      w.str(body.entityName);
      w.u8(ch);
      w.str(body.name);
      writePairs(w, body.headers, 'body.headers');
      if (body.params === null) w.u8(0xff);
      else {
        w.u8(5);
        writeInfoTable(w, body.params, depth, 'body.params');
      }
      return;
    }
    case 'auth':
      writePairs(w, body.claims, 'body.claims');
      return;
    case 'bind':
    case 'unbind':
      if (body.gateway === null) w.u8(0);
      else {
        w.u8(1);
        w.str(body.gateway.name);
        w.str(body.gateway.type);
      }
      if (body.names.length > 0xffff)
        throw new EncodeError('body.names', 'at most 65535 names', `${body.names.length}`);
      w.u16(body.names.length);
      for (const n of body.names) w.str(n);
      return;
    case 'response':
      if (body.reason === null) w.u8(0);
      else {
        w.u8(1);
        w.str(body.reason);
      }
      if (body.content === null) w.u8(0xff);
      else {
        w.u8(5);
        writeInfoTable(w, body.content, depth, 'body.content');
      }
      return;
    case 'chunk':
      throw new EncodeError('body.kind', 'a whole message body (a chunk body needs a multipart header)', '"chunk"');
  }
}
