/** The bridge's public API (used by `tpx bridge`, the sandbox and the benchmark). */

export { PoolSink, RestDirectory, tunnelSender } from './adapters.js';
export { BRIDGE_DEFAULTS, Bridge, type BridgeOptions, type BridgeStats, parseListen, startBridge } from './bridge.js';
export { type ConnectedBridgeOptions, startConnectedBridge } from './connect.js';
export {
  type BridgeEventMap,
  type BridgeEventName,
  BridgeEvents,
  type RejectReason,
  type ReportKind,
} from './events.js';
export { eventLevel, formatEvent, type LogLevel } from './log.js';
export type {
  DownlinkRequest,
  DownlinkResult,
  DownlinkSender,
  PropertyUpdate,
  PropertyWrite,
  ReportCodec,
  SinkStatus,
  ThingDirectory,
  ThingWorxSink,
  TunnelReport,
} from './ports.js';
export { PermanentError } from './ports.js';
export { type DeadLetter, Spool } from './spool.js';
export { PROPS } from './thing-properties.js';
