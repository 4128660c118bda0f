/**
 * Answers to platform-initiated requests (research/alwayson.md §12): property writes (PUT) and reads (GET) go to
 * handlers the owner registers; NotifyPropertyUpdate, SynchronizeModelState and GetMetadata are answered here
 * (§12.4); anything else, or any request for a Thing that is not bound on this connection, gets NOT_FOUND.
 */
import type { InfoTable, MessageCodeName, RequestBody, TwValue } from './codec/types.js';
import { emptyNamedVtq, fieldValue, singleValueTable } from './message-builders.js';

/** Called when the platform writes a remote property (e.g. `downlink`). Throw to answer with an error. */
export type PropertyWriteHandler = (thing: string, property: string, value: TwValue) => Promise<void> | void;
/** Called when the platform reads a remote property. Return undefined when the property is unknown (NOT_FOUND). */
export type PropertyReadHandler = (
  thing: string,
  property: string,
) => Promise<TwValue | undefined> | TwValue | undefined;
/** Describes a Thing for GetMetadata (Composer "Browse"): property, service and event definitions by name. */
export type MetadataProvider = (thing: string) => ThingMetadata | undefined;

export interface ThingMetadata {
  description?: string;
  propertyDefinitions?: Record<string, unknown>;
  serviceDefinitions?: Record<string, unknown>;
  eventDefinitions?: Record<string, unknown>;
}

export interface EdgeHandlers {
  propertyWrite: PropertyWriteHandler | null;
  propertyRead: PropertyReadHandler | null;
  metadata: MetadataProvider | null;
}

/** A platform → edge error to answer with a given status: throw it from a handler. */
export class EdgeStatusError extends Error {
  constructor(
    readonly status: MessageCodeName,
    message: string,
  ) {
    super(message);
    this.name = 'EdgeStatusError';
  }
}

export interface EdgeAnswer {
  code: MessageCodeName;
  reason: string | null;
  content: InfoTable | null;
  /** Set for NotifyPropertyUpdate / SynchronizeModelState: the owner emits a sync event after answering. */
  sync?: string;
  /** Set when a handler threw: the owner reports it. */
  error?: unknown;
}

const notFound = (reason: string): EdgeAnswer => ({ code: 'NOT_FOUND', reason, content: null });

export async function answerPlatformRequest(
  method: string,
  body: RequestBody,
  isBound: (thing: string) => boolean,
  handlers: EdgeHandlers,
): Promise<EdgeAnswer> {
  const thing = body.entityName;
  if (body.entityType !== 'THING' || !isBound(thing)) return notFound(`${thing} is not bound on this connection`);
  try {
    if (body.characteristic === 'PROPERTIES') {
      if (method === 'PUT') {
        if (!handlers.propertyWrite) return notFound(`no property writes accepted for ${thing}`);
        const value = fieldValue(body.params, body.name);
        if (value === undefined) return { code: 'BAD_REQUEST', reason: `no value for ${body.name}`, content: null };
        await handlers.propertyWrite(thing, body.name, value);
        return { code: 'SUCCESS', reason: null, content: null };
      }
      if (method === 'GET') {
        const value = handlers.propertyRead ? await handlers.propertyRead(thing, body.name) : undefined;
        if (value === undefined) return notFound(`property ${body.name} not found on ${thing}`);
        return { code: 'SUCCESS', reason: null, content: singleValueTable(body.name, value) };
      }
      return { code: 'METHOD_NOT_ALLOWED', reason: `${method} on a property`, content: null };
    }
    if (body.characteristic === 'SERVICES' && method === 'POST') {
      switch (body.name) {
        case 'NotifyPropertyUpdate':
          return { code: 'SUCCESS', reason: null, content: null, sync: body.name };
        case 'SynchronizeModelState':
          return { code: 'SUCCESS', reason: null, content: emptyNamedVtq(), sync: body.name };
        case 'GetMetadata':
          return { code: 'SUCCESS', reason: null, content: metadataTable(thing, handlers.metadata?.(thing)) };
      }
    }
    return notFound(`${body.characteristic.toLowerCase()} ${body.name} not found on ${thing}`);
  } catch (error) {
    if (error instanceof EdgeStatusError) return { code: error.status, reason: error.message, content: null, error };
    const reason = error instanceof Error ? error.message : String(error);
    return { code: 'INTERNAL_SERVER_ERROR', reason, content: null, error };
  }
}

function metadataTable(thing: string, meta: ThingMetadata | undefined): InfoTable {
  const json = {
    name: thing,
    description: meta?.description ?? '',
    isSystemObject: false,
    propertyDefinitions: meta?.propertyDefinitions ?? {},
    serviceDefinitions: meta?.serviceDefinitions ?? {},
    eventDefinitions: meta?.eventDefinitions ?? {},
  };
  return singleValueTable('result', { baseType: 'JSON', value: JSON.stringify(json) });
}
