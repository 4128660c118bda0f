/**
 * The emulator's connector catalogue (GET /connectors) and its own validation of a connection body against a
 * connector's configuration schema (JSON-Schema draft-04 subset, `additionalProperties: false`), written apart
 * from the client's validator on purpose: a bug shared by both would pass every test.
 */

export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  pattern?: string;
  enum?: unknown[];
  items?: JsonSchema;
  description?: string;
  format?: string;
}

export interface Connector {
  id: string;
  producerId: string;
  moduleId: string;
  version: string;
  description: string;
  beta: boolean;
  urlDoc: string;
  connection: { configurationSchema: JsonSchema };
  flow: { configurationSchema: JsonSchema };
}

/** Keys of a configuration that the API masks as `*****` on read. */
export const SECRET_KEYS = new Set([
  'applicationKey',
  'downlinkAsKey',
  'password',
  'secretAccessKey',
  'privateKey',
  'sharedAccessKey',
]);

const common: Record<string, JsonSchema> = {
  description: { type: 'string', description: 'free text' },
  createDevices: { type: 'boolean', default: true },
  sendMetadata: { type: 'boolean', default: false },
  sendRawDecodedFormat: { type: 'boolean', default: false },
  uplinkTimeValidity: { type: 'string', pattern: '^[0-9]+(ms|s|m|h|d)$' },
  downlinkEnabled: { type: 'boolean', default: true },
  downlinkAsId: { type: 'string', pattern: '^[0-9A-Za-z._-]+$' },
  downlinkAsKey: { type: 'string', pattern: '^[0-9A-Fa-f]{32}$', format: 'password' },
  downlinkPort: { type: 'integer', minimum: 1, maximum: 223 },
  reconnectStrategy: { type: 'string', enum: ['CALM', 'NORMAL', 'AGGRESSIVE'], default: 'NORMAL' },
  uplinkRateLimiter: { type: 'integer', minimum: 0 },
};

export const CONNECTORS: Connector[] = [
  {
    id: 'actility-thingworx-iot',
    producerId: 'actility',
    moduleId: 'thingworx-iot',
    version: '1.7.16',
    description: 'PTC ThingWorx (AlwaysOn over WSS, TLS 1.2)',
    beta: false,
    urlDoc: 'https://docs.thingpark.com/thingpark-x/latest/Connector/THINGWORX/',
    connection: {
      configurationSchema: {
        type: 'object',
        additionalProperties: false,
        required: ['hostName', 'applicationKey', 'thingTemplateName'],
        properties: {
          hostName: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9.-]+(:[0-9]{1,5})?$' },
          applicationKey: { type: 'string', minLength: 1, format: 'password' },
          thingTemplateName: { type: 'string', minLength: 1, default: 'actilityThingTemplateSF' },
          pipeCount: { type: 'integer', minimum: 1, maximum: 255, default: 1 },
          ...common,
        },
      },
    },
    flow: { configurationSchema: { type: 'object', properties: {} } },
  },
  {
    // Fields of actility/tpx-iot-flow-doc docs/Connector/AMQP/README.md. Which are required is UNCONFIRMED: the
    // emulator requires the broker's host and protocol, the exchange and the uplink pattern (see README.md here).
    id: 'actility-amqp-0.9.1-iot',
    producerId: 'actility',
    moduleId: 'amqp-0.9.1-iot',
    version: '1.7.16',
    description: 'AMQP 0.9.1 broker (exchange and routing-key patterns)',
    beta: false,
    urlDoc: 'https://docs.thingpark.com/thingpark-x/latest/Connector/AMQP/',
    connection: {
      configurationSchema: {
        type: 'object',
        additionalProperties: false,
        required: ['hostName', 'protocol', 'exchangeName', 'uplinkTopicPattern'],
        properties: {
          hostName: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9.-]+(:[0-9]{1,5})?$' },
          protocol: { type: 'string', enum: ['TCP', 'SSL'], default: 'TCP' },
          username: { type: 'string' },
          password: { type: 'string', format: 'password' },
          certificate: { type: 'string' },
          privateKey: { type: 'string', format: 'password' },
          exchangeName: { type: 'string', minLength: 1 },
          uplinkTopicPattern: { type: 'string', minLength: 1 },
          downlinkTopicPattern: { type: 'string', minLength: 1 },
          ...common,
        },
      },
    },
    flow: { configurationSchema: { type: 'object', properties: {} } },
  },
  {
    id: 'actility-http-iot',
    producerId: 'actility',
    moduleId: 'http-iot',
    version: '1.7.16',
    description: 'HTTP(S) POST to a URL',
    beta: false,
    urlDoc: 'https://docs.thingpark.com/thingpark-x/latest/Connector/HTTP/',
    connection: {
      configurationSchema: {
        type: 'object',
        additionalProperties: false,
        required: ['destinationURL'],
        properties: {
          destinationURL: { type: 'string', pattern: '^https?://' },
          headers: { type: 'object' },
          lrcCompliance: { type: 'boolean', default: false },
          ...common,
        },
      },
    },
    flow: { configurationSchema: { type: 'object', properties: {} } },
  },
];

function typeOk(type: string | undefined, v: unknown): boolean {
  switch (type) {
    case undefined:
      return true;
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    default:
      return false;
  }
}

/** Returns the first problem of `value` against `schema` as a message, or undefined when it is valid. */
export function schemaProblem(schema: JsonSchema, value: unknown, path: string): string | undefined {
  if (!typeOk(schema.type, value)) return `${path} must be of type ${schema.type}`;
  if (schema.enum && !schema.enum.includes(value)) return `${path} must be one of ${schema.enum.join(', ')}`;
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) return `${path} must not be empty`;
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) return `${path} does not match ${schema.pattern}`;
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return `${path} must be >= ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `${path} must be <= ${schema.maximum}`;
  }
  if (schema.type === 'object' && schema.properties) {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (obj[r] === undefined) return `${path}.${r} is required`;
    for (const [k, v] of Object.entries(obj)) {
      const sub = schema.properties[k];
      if (!sub) {
        if (schema.additionalProperties === false) return `${path}.${k} is not a known property`;
        continue;
      }
      const p = schemaProblem(sub, v, `${path}.${k}`);
      if (p) return p;
    }
  }
  return undefined;
}

/** Fills schema defaults that are missing (as the API does when it stores a configuration). */
export function withDefaults(schema: JsonSchema, config: Record<string, unknown>): Record<string, unknown> {
  const out = { ...config };
  for (const [k, s] of Object.entries(schema.properties ?? {})) {
    if (out[k] === undefined && s.default !== undefined) out[k] = s.default;
  }
  return out;
}
