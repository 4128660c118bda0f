/** The AlwaysOn binary codec (research/alwayson.md §2–§9). */

export { EncodeError, ProtocolError } from './errors.js';
export { formatInfoTable, formatMessage, formatValue } from './format.js';
export { infoTableFromJson, messageFromJson, toJsonDocument, toJsonText, valueFromJson } from './json.js';
export {
  codeName,
  decodeBody,
  decodeHeader,
  decodeMessage,
  encodeBody,
  encodeChunk,
  encodeMessage,
} from './message.js';
export {
  type DroppedChunks,
  encodeFrames,
  Reassembler,
  type ReassemblerOptions,
  type SplitOptions,
  splitMessage,
} from './multipart.js';
export { baseTypeName } from './primitive.js';
export {
  decodeInfoTable,
  decodePrimitive,
  encodeInfoTable,
  encodePrimitive,
  infoTableFromValues,
  valuesFromInfoTable,
} from './standalone.js';
export * from './types.js';
