/** The AlwaysOn client and pipe pool: the API the rest of tpx uses (see pool.ts for AlwaysOnPool). */

export { type BackoffOptions, backoffDelay } from '../util/backoff.js';
export {
  AlwaysOnClient,
  type AlwaysOnClientOptions,
  type ClientEvents,
  type ClientState,
  type PushOptions,
  TRANSITIONS,
} from './client.js';
export type { InfoTable, MessageCodeName, TwValue } from './codec/types.js';
export {
  EdgeStatusError,
  type MetadataProvider,
  type PropertyReadHandler,
  type PropertyWriteHandler,
  type ThingMetadata,
} from './edge.js';
export {
  AlwaysOnError,
  AlwaysOnOptionsError,
  AuthFailedError,
  BindRejectedError,
  BusyError,
  ClientClosedError,
  ConnectError,
  DisconnectedError,
  type FailureCause,
  failureCause,
  IllegalTransitionError,
  type ProtocolErrorCause,
  PushWithdrawnError,
  RequestFailedError,
  RequestTimeoutError,
} from './errors.js';
export { NAMED_VTQ_SHAPE, namedVtq, type PropertyValue } from './message-builders.js';
export { RECONNECT_BACKOFF } from './options.js';
export { AlwaysOnPool, type AlwaysOnPoolOptions, type BindResult, type PipeStatus, type PoolEvents } from './pool.js';
export { hashName, pipeFor } from './shard.js';
export { alwaysOnUrl } from './socket.js';
