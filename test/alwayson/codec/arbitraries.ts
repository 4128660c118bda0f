/** fast-check generators of AlwaysOn values, infotables and messages (every base type, nesting, aspects). */
import fc from 'fast-check';
import {
  BASE_TYPES,
  type BaseTypeName,
  CHARACTERISTICS,
  type CharacteristicName,
  ENTITY_TYPES,
  type EntityTypeName,
  type FieldDefinition,
  type InfoTable,
  MESSAGE_CODES,
  type Message,
  type MessageCodeName,
  type TwValue,
} from '../../../src/alwayson/codec/index.js';

const SPECIAL = new Set([
  'NOTHING',
  'NUMBER',
  'BOOLEAN',
  'DATETIME',
  'TIMESPAN',
  'INFOTABLE',
  'LOCATION',
  'IMAGE',
  'VARIANT',
  'BLOB',
  'INTEGER',
  'LONG',
]);
const STRING_TYPES = (Object.keys(BASE_TYPES) as BaseTypeName[]).filter((n) => !SPECIAL.has(n));

/** Short and long (4-byte length) strings over all of Unicode. */
export const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 40, maxLength: 140 }) },
);
/** Object keys whose insertion order JS keeps (integer-like keys are reordered by the language). */
export const key = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => !/^(0|[1-9][0-9]*)$/.test(s));

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
const hexBytes = fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('hex'));

export const leaf: fc.Arbitrary<TwValue> = fc.oneof(
  fc.constant<TwValue>({ baseType: 'NOTHING' }),
  fc.record({ baseType: fc.constantFrom(...STRING_TYPES), value: text }) as fc.Arbitrary<TwValue>,
  fc.double().map<TwValue>((value) => ({ baseType: 'NUMBER', value })),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map<TwValue>((value) => ({ baseType: 'INTEGER', value })),
  int64.map<TwValue>((value) => ({ baseType: 'LONG', value })),
  int64.map<TwValue>((value) => ({ baseType: 'TIMESPAN', value })),
  fc.boolean().map<TwValue>((value) => ({ baseType: 'BOOLEAN', value })),
  fc.maxSafeInteger().map<TwValue>((value) => ({ baseType: 'DATETIME', value })),
  fc.tuple(fc.double(), fc.double(), fc.double()).map<TwValue>(([longitude, latitude, elevation]) => ({
    baseType: 'LOCATION',
    value: { longitude, latitude, elevation },
  })),
  fc
    .tuple(fc.constantFrom('BLOB' as const, 'IMAGE' as const), hexBytes)
    .map<TwValue>(([baseType, value]) => ({ baseType, value })),
);

const baseTypeName = fc.constantFrom(...(Object.keys(BASE_TYPES) as BaseTypeName[]));

const tree = fc.letrec<{ value: TwValue; table: InfoTable }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    tie('value').map<TwValue>((value) => ({ baseType: 'VARIANT', value })),
    tie('table').map<TwValue>((value) => ({ baseType: 'INFOTABLE', value })),
  ),
  table: fc
    .array(
      fc.record<FieldDefinition>({
        name: text,
        description: text,
        baseType: baseTypeName,
        aspects: fc.dictionary(key, leaf, { maxKeys: 3 }),
      }),
      { maxLength: 4 },
    )
    .chain((dataShape) =>
      fc
        .array(fc.tuple(...dataShape.map(() => tie('value'))), { maxLength: 3 })
        .map((rows) => ({ dataShape, rows: rows as TwValue[][] })),
    ),
}));

export const value = tree.value;
export const infoTable = tree.table;

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const header = (codes: MessageCodeName[]) =>
  fc.record({
    version: fc.integer({ min: 0, max: 255 }),
    code: fc.constantFrom(...codes),
    requestId: u32,
    endpointId: u32,
    sessionId: u32,
  });
const STATUS = (Object.keys(MESSAGE_CODES) as MessageCodeName[]).filter((c) => MESSAGE_CODES[c] >= 0x40);
const full = (h: {
  code: MessageCodeName;
  version: number;
  requestId: number;
  endpointId: number;
  sessionId: number;
}) => ({
  ...h,
  codeValue: MESSAGE_CODES[h.code],
  multipart: null,
});

export const requestMessage: fc.Arbitrary<Message> = fc
  .tuple(
    header(['GET', 'PUT', 'POST', 'DELETE']),
    fc.record({
      kind: fc.constant('request' as const),
      entityType: fc.constantFrom(...(Object.keys(ENTITY_TYPES) as EntityTypeName[])),
      entityName: text,
      characteristic: fc.constantFrom(...(Object.keys(CHARACTERISTICS) as CharacteristicName[])),
      name: text,
      headers: fc.dictionary(key, text, { maxKeys: 2 }),
      params: fc.option(infoTable, { nil: null }),
    }),
  )
  .map(([h, body]) => ({ header: full(h), body }));

export const responseMessage: fc.Arbitrary<Message> = fc
  .tuple(
    header(STATUS),
    fc.record({
      kind: fc.constant('response' as const),
      reason: fc.option(text, { nil: null }),
      content: fc.option(infoTable, { nil: null }),
    }),
  )
  .map(([h, body]) => ({ header: full(h), body }));

export const authMessage: fc.Arbitrary<Message> = fc
  .tuple(header(['AUTH']), fc.dictionary(key, text, { maxKeys: 3 }))
  .map(([h, claims]) => ({ header: full(h), body: { kind: 'auth', claims } }));

export const bindMessage: fc.Arbitrary<Message> = fc
  .tuple(
    header(['BIND', 'UNBIND']),
    fc.option(fc.record({ name: text, type: text }), { nil: null }),
    fc.array(text, { maxLength: 5 }),
  )
  .map(([h, gateway, names]) => ({
    header: full(h),
    body: { kind: h.code === 'BIND' ? 'bind' : 'unbind', gateway, names },
  }));

export const message: fc.Arbitrary<Message> = fc.oneof(requestMessage, responseMessage, authMessage, bindMessage);
