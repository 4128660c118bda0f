/**
 * Message builders the client uses: property pushes (UpdateSubscribedPropertyValues with a NamedVTQ infotable,
 * research/alwayson.md §11.1), single-value infotables (§9 convention), and request/response envelopes.
 * The data shapes are shared constants so that a push allocates only its rows.
 */
import type {
  CharacteristicName,
  EntityTypeName,
  FieldDefinition,
  InfoTable,
  Message,
  MessageCodeName,
  RequestMethod,
  TwValue,
} from './codec/types.js';
import { MESSAGE_CODES } from './codec/types.js';

/** One property update: name, typed value, time (epoch ms, default now) and quality (default "GOOD"). */
export interface PropertyValue {
  name: string;
  value: TwValue;
  /** Epoch milliseconds; default: the time of the push. */
  time?: number;
  /** GOOD (default), BAD, UNKNOWN, OUT_OF_RANGE or UNVERIFIED_SOURCE. */
  quality?: string;
}

const field = (name: string, baseType: FieldDefinition['baseType']): FieldDefinition => ({
  name,
  description: '',
  baseType,
  aspects: {},
});

/** The NamedVTQ data shape, fields in the order the C SDK writes them. */
export const NAMED_VTQ_SHAPE: readonly FieldDefinition[] = Object.freeze([
  field('name', 'STRING'),
  field('value', 'VARIANT'),
  field('time', 'DATETIME'),
  field('quality', 'STRING'),
]);

const VALUES_SHAPE: readonly FieldDefinition[] = Object.freeze([field('values', 'INFOTABLE')]);

/**
 * Cells every push repeats, shared instead of allocated per row (the encoder only reads them): the property
 * names seen so far (a bounded set: a template's properties) and the usual quality.
 */
const NAME_CELLS = new Map<string, TwValue>();
const NAME_CELLS_MAX = 4096;
const GOOD: TwValue = Object.freeze({ baseType: 'STRING', value: 'GOOD' });

function nameCell(name: string): TwValue {
  let cell = NAME_CELLS.get(name);
  if (!cell) {
    cell = Object.freeze({ baseType: 'STRING', value: name }) as TwValue;
    if (NAME_CELLS.size < NAME_CELLS_MAX) NAME_CELLS.set(name, cell);
  }
  return cell;
}

/** The NamedVTQ infotable of a list of property values. */
export function namedVtq(values: readonly PropertyValue[], now: number = Date.now()): InfoTable {
  const rows: TwValue[][] = new Array(values.length);
  // the values of one push mostly share their time: one cell for a run of equal times
  let timeCell: { baseType: 'DATETIME'; value: number } | undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const time = v.time ?? now;
    if (timeCell?.value !== time) timeCell = { baseType: 'DATETIME', value: time };
    rows[i] = [
      nameCell(v.name),
      v.value.baseType === 'VARIANT' ? v.value : { baseType: 'VARIANT', value: v.value },
      timeCell,
      v.quality === undefined || v.quality === 'GOOD' ? GOOD : { baseType: 'STRING', value: v.quality },
    ];
  }
  return { dataShape: NAMED_VTQ_SHAPE as FieldDefinition[], rows };
}

/** Params of UpdateSubscribedPropertyValues: one field `values` holding the NamedVTQ infotable. */
export function pushParams(values: readonly PropertyValue[]): InfoTable {
  return { dataShape: VALUES_SHAPE as FieldDefinition[], rows: [[{ baseType: 'INFOTABLE', value: namedVtq(values) }]] };
}

/** An empty NamedVTQ infotable (answer to SynchronizeModelState when there is nothing to push). */
export function emptyNamedVtq(): InfoTable {
  return { dataShape: NAMED_VTQ_SHAPE as FieldDefinition[], rows: [] };
}

/** One field named `name` with the value's type and one row (how the C SDK wraps a single value). */
export function singleValueTable(name: string, value: TwValue): InfoTable {
  return { dataShape: [field(name, value.baseType)], rows: [[value]] };
}

/** The value of field `name` in the first row, or the only field's value; undefined when absent. */
export function fieldValue(table: InfoTable | null, name: string): TwValue | undefined {
  if (!table || table.rows.length === 0) return undefined;
  let idx = table.dataShape.findIndex((f) => f.name === name);
  if (idx < 0 && table.dataShape.length === 1) idx = 0;
  if (idx < 0) return undefined;
  return table.rows[0]![idx];
}

export function requestMessage(
  method: RequestMethod,
  requestId: number,
  sessionId: number,
  entityType: EntityTypeName,
  entityName: string,
  characteristic: CharacteristicName,
  name: string,
  params: InfoTable | null,
): Message {
  return {
    header: {
      version: 1,
      code: method,
      codeValue: MESSAGE_CODES[method],
      requestId,
      endpointId: 0,
      sessionId,
      multipart: null,
    },
    body: { kind: 'request', entityType, entityName, characteristic, name, headers: {}, params },
  };
}

export function responseMessage(
  code: MessageCodeName,
  requestId: number,
  endpointId: number,
  sessionId: number,
  reason: string | null,
  content: InfoTable | null,
): Message {
  return {
    header: { version: 1, code, codeValue: MESSAGE_CODES[code], requestId, endpointId, sessionId, multipart: null },
    body: { kind: 'response', reason, content },
  };
}

export function authMessage(requestId: number, appKey: string): Message {
  return {
    header: {
      version: 1,
      code: 'AUTH',
      codeValue: MESSAGE_CODES.AUTH,
      requestId,
      endpointId: 0,
      sessionId: 0xffffffff,
      multipart: null,
    },
    body: { kind: 'auth', claims: { appKey } },
  };
}

export function bindMessage(kind: 'bind' | 'unbind', requestId: number, sessionId: number, names: string[]): Message {
  const code = kind === 'bind' ? 'BIND' : 'UNBIND';
  return {
    header: { version: 1, code, codeValue: MESSAGE_CODES[code], requestId, endpointId: 0, sessionId, multipart: null },
    body: { kind, gateway: null, names },
  };
}

/** Splits names into BIND/UNBIND batches whose frame fits one chunk of `chunkSize` bytes (§6.2, §7.1). */
export function bindBatches(names: readonly string[], chunkSize: number): string[][] {
  // A message goes out as one frame when body + 21 (header and the room of a multipart header) <= chunkSize (§7.1).
  const budget = chunkSize - 21 - 1 - 2; // gateway flag, name count
  const batches: string[][] = [];
  let current: string[] = [];
  let used = 0;
  for (const name of names) {
    const bytes = Buffer.byteLength(name, 'utf8');
    const size = (bytes < 128 ? 1 : 4) + bytes;
    if (size > budget) throw new RangeError(`Thing name too long to bind: ${name.slice(0, 40)}…`);
    if (used + size > budget || current.length === 0xffff) {
      batches.push(current);
      current = [];
      used = 0;
    }
    current.push(name);
    used += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Success codes (CoAP 2.xx class: 0x40..0x5F). */
export function isSuccess(codeValue: number): boolean {
  return codeValue >= 0x40 && codeValue < 0x60;
}
