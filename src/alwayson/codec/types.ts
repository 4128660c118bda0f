/**
 * The AlwaysOn message model (research/alwayson.md §3–§9). This is the contract between the codec, the client,
 * the pool and the ThingWorx emulator. The JSON form printed by `tpx alwayson decode --json` is exactly this
 * model, so `decode --json | encode` gives back the input bytes.
 */

/** Base type names of research/alwayson.md §5.3 with their byte codes. */
export const BASE_TYPES = {
  NOTHING: -1,
  STRING: 0,
  NUMBER: 1,
  BOOLEAN: 2,
  DATETIME: 3,
  TIMESPAN: 4,
  INFOTABLE: 5,
  LOCATION: 6,
  XML: 7,
  JSON: 8,
  QUERY: 9,
  IMAGE: 10,
  HYPERLINK: 11,
  IMAGELINK: 12,
  PASSWORD: 13,
  HTML: 14,
  TEXT: 15,
  TAGS: 16,
  SCHEDULE: 17,
  VARIANT: 18,
  GUID: 20,
  BLOB: 21,
  INTEGER: 22,
  LONG: 23,
  PROPERTYNAME: 50,
  SERVICENAME: 51,
  EVENTNAME: 52,
  THINGNAME: 100,
  THINGSHAPENAME: 101,
  THINGTEMPLATENAME: 102,
  DATASHAPENAME: 104,
  MASHUPNAME: 105,
  MENUNAME: 106,
  BASETYPENAME: 107,
  USERNAME: 108,
  GROUPNAME: 109,
  CATEGORYNAME: 110,
  STATEDEFINITIONNAME: 111,
  STYLEDEFINITIONNAME: 112,
  MODELTAGVOCABULARYNAME: 113,
  DATATAGVOCABULARYNAME: 114,
  NETWORKNAME: 115,
  MEDIAENTITYNAME: 116,
  APPLICATIONKEYNAME: 117,
  LOCALIZATIONTABLENAME: 118,
  ORGANIZATIONNAME: 119,
  DASHBOARDNAME: 120,
} as const;
export type BaseTypeName = keyof typeof BASE_TYPES;

/** Base types whose value is a string on the wire (§8). */
export type StringBaseType = Exclude<
  BaseTypeName,
  | 'NOTHING'
  | 'NUMBER'
  | 'BOOLEAN'
  | 'DATETIME'
  | 'TIMESPAN'
  | 'INFOTABLE'
  | 'LOCATION'
  | 'IMAGE'
  | 'VARIANT'
  | 'BLOB'
  | 'INTEGER'
  | 'LONG'
>;

export interface Location {
  longitude: number;
  latitude: number;
  elevation: number;
}

/** A typed primitive. */
export type TwValue =
  | { baseType: 'NOTHING' }
  | { baseType: StringBaseType; value: string }
  | { baseType: 'NUMBER'; value: number }
  | { baseType: 'INTEGER'; value: number }
  /** int64 as a decimal string (exact). */
  | { baseType: 'LONG'; value: string }
  | { baseType: 'BOOLEAN'; value: boolean }
  /** Epoch milliseconds. */
  | { baseType: 'DATETIME'; value: number }
  /** TIMESPAN: int64 milliseconds as a decimal string (UNCONFIRMED encoding, research/alwayson.md §8). */
  | { baseType: 'TIMESPAN'; value: string }
  | { baseType: 'LOCATION'; value: Location }
  /** Raw bytes as lower-case hex. */
  | { baseType: 'BLOB' | 'IMAGE'; value: string }
  | { baseType: 'VARIANT'; value: TwValue }
  | { baseType: 'INFOTABLE'; value: InfoTable };

export interface FieldDefinition {
  name: string;
  description: string;
  baseType: BaseTypeName;
  /** Aspect name -> typed value (e.g. isPersistent: {baseType: 'BOOLEAN', value: true}). Insertion order is kept. */
  aspects: Record<string, TwValue>;
}

export interface InfoTable {
  dataShape: FieldDefinition[];
  /** Positional: rows[i][j] is the value of dataShape[j]. */
  rows: TwValue[][];
}

/** The reverse of a name → byte table: the name of each byte (undefined where none), for O(1) decoding. */
export function namesByByte<N extends string>(table: Readonly<Record<N, number>>): readonly (N | undefined)[] {
  const names: (N | undefined)[] = new Array(256).fill(undefined);
  for (const [n, c] of Object.entries(table) as [N, number][]) names[c] = n;
  return names;
}

export const MESSAGE_CODES = {
  UNKNOWN: 0x00,
  GET: 0x01,
  PUT: 0x02,
  POST: 0x03,
  DELETE: 0x04,
  BIND: 0x0a,
  UNBIND: 0x0b,
  AUTH: 0x14,
  KEEP_ALIVE: 0x1f,
  SUCCESS: 0x40,
  BAD_REQUEST: 0x80,
  UNAUTHORIZED: 0x81,
  BAD_OPTION: 0x82,
  FORBIDDEN: 0x83,
  NOT_FOUND: 0x84,
  METHOD_NOT_ALLOWED: 0x85,
  NOT_ACCEPTABLE: 0x86,
  PRECONDITION_FAILED: 0x8c,
  ENTITY_TOO_LARGE: 0x8d,
  UNSUPPORTED_CONTENT_FORMAT: 0x8f,
  INTERNAL_SERVER_ERROR: 0xa0,
  NOT_IMPLEMENTED: 0xa1,
  BAD_GATEWAY: 0xa2,
  SERVICE_UNAVAILABLE: 0xa3,
  GATEWAY_TIMEOUT: 0xa4,
} as const;
export type MessageCodeName = keyof typeof MESSAGE_CODES;
export type RequestMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

export const ENTITY_TYPES = {
  UNDEFINED: 0x00,
  THING: 0x0a,
  THINGSHAPES: 0x0b,
  THINGTEMPLATES: 0x0c,
  THINGPACKAGES: 0x0d,
  NETWORKS: 0x0e,
  DATASHAPES: 0x0f,
  MODELTAGS: 0x14,
  DATATAGS: 0x15,
  MASHUPS: 0x1e,
  WIDGETS: 0x1f,
  STYLEDEFINITIONS: 0x20,
  STATEDEFINITIONS: 0x21,
  MENUS: 0x22,
  MEDIAENTITIES: 0x23,
  LOCALIZATIONTABLES: 0x24,
  DASHBOARDS: 0x27,
  LOGS: 0x28,
  USERS: 0x32,
  GROUPS: 0x33,
  ORGANIZATIONS: 0x34,
  APPLICATIONKEYS: 0x35,
  DIRECTORYSERVICES: 0x36,
  RESOURCE: 0x3c,
  SCRIPTFUNCTIONLIBRARIES: 0x3d,
  EXTENSIONPACKAGES: 0x46,
  SUBSYSTEM: 0x50,
} as const;
export type EntityTypeName = keyof typeof ENTITY_TYPES;

export const CHARACTERISTICS = { PROPERTIES: 0x01, SERVICES: 0x02, EVENTS: 0x03 } as const;
export type CharacteristicName = keyof typeof CHARACTERISTICS;

export interface MultipartInfo {
  /** 1-based; absent on a reassembled message. */
  chunkId?: number;
  chunkCount: number;
  chunkSize: number;
}

export interface MessageHeader {
  /** Always 1 on send; not checked on receive. */
  version: number;
  code: MessageCodeName;
  codeValue: number;
  requestId: number;
  endpointId: number;
  sessionId: number;
  /** null for a single message; chunk info for one chunk; {chunkCount, chunkSize} on a reassembled message. */
  multipart: MultipartInfo | null;
}

export interface AuthBody {
  kind: 'auth';
  /** Claim name -> value, in wire order (normally { appKey }). */
  claims: Record<string, string>;
}

export interface BindBody {
  kind: 'bind' | 'unbind';
  gateway: { name: string; type: string } | null;
  names: string[];
}

export interface RequestBody {
  kind: 'request';
  entityType: EntityTypeName;
  entityName: string;
  characteristic: CharacteristicName;
  name: string;
  headers: Record<string, string>;
  params: InfoTable | null;
}

export interface ResponseBody {
  kind: 'response';
  reason: string | null;
  content: InfoTable | null;
}

/** A chunk's body that cannot be parsed alone (multipart chunk before reassembly): the raw data as hex. */
export interface ChunkBody {
  kind: 'chunk';
  entityType?: EntityTypeName;
  entityName?: string;
  data: string;
}

export type MessageBody = AuthBody | BindBody | RequestBody | ResponseBody | ChunkBody;

export interface Message {
  header: MessageHeader;
  body: MessageBody;
}

/** Result of decoding one frame. `trailing` holds bytes after a complete body (PTC's SDK pads, §21 D1/D4). */
export interface DecodedMessage extends Message {
  trailing: string | null;
}

export interface CodecLimits {
  /** Largest accepted message (whole frame, or reassembled multipart). Default 1 MiB. */
  maxMessageSize?: number;
  /** Deepest nesting of VARIANT / INFOTABLE values accepted. Default 32. */
  maxDepth?: number;
}

export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024;
export const DEFAULT_CHUNK_SIZE = 8192;
export const HEADER_SIZE = 15;
export const MULTIPART_HEADER_SIZE = 6;

export const DEFAULT_MAX_DEPTH = 32;
