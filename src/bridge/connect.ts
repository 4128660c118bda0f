/**
 * A bridge wired to the real services: the AlwaysOn pool and the REST client for ThingWorx, the LRC tunnel for
 * downlinks. `tpx bridge` and the sandbox call this with URLs and credentials.
 */
import { AlwaysOnPool } from '../alwayson/index.js';
import { thingparkDispatcher } from '../thingpark/tls.js';
import { ThingWorxRest } from '../thingworx/rest.js';
import { PoolSink, RestDirectory, tunnelSender } from './adapters.js';
import { type Bridge, type BridgeOptions, startBridge } from './bridge.js';

export interface ConnectedBridgeOptions extends Omit<BridgeOptions, 'sink' | 'directory' | 'downlinks'> {
  /** https://host:port of ThingWorx. */
  thingworxUrl: string;
  appKey: string;
  /** PEM contents of a CA to trust (not a file name). */
  ca?: string;
  insecure?: boolean;
  /** AlwaysOn WebSockets, 1..255 (default 1). */
  pipeCount?: number;
  /** LRC tunnel downlink endpoint (…/thingpark/lrc/rest/v2/downlink); without it downlinks fail with a status. */
  downlinkUrl?: string;
  /** CA certificate (PEM) to trust for the LRC downlink endpoint. */
  thingparkCa?: string;
  /** AlwaysOn request timeout (default 10 s). */
  requestTimeoutMs?: number;
  /** Longest silence of ThingWorx before a pipe is dropped and reconnected (default 5 s). */
  pingDeadlineMs?: number;
}

/** What a bridge (or a one-off `uplink --direct`) needs of ThingWorx: the AlwaysOn pool as a sink, the REST directory. */
export interface ThingWorxServicesOptions {
  thingworxUrl: string;
  appKey: string;
  ca?: string;
  insecure?: boolean;
  pipeCount?: number;
  requestTimeoutMs?: number;
  /** Longest silence of ThingWorx before a pipe is dropped and reconnected (default 5 s). */
  pingDeadlineMs?: number;
  /** Total time of one REST call (default 30 s). */
  restTimeoutMs?: number;
  /** Reconnect options of the pool; undefined keeps the pool's default, null turns reconnecting off. */
  reconnect?: ConstructorParameters<typeof AlwaysOnPool>[0]['reconnect'];
}

/** The one place a pool and a REST client are assembled for the bridge (and for `uplink --direct`). */
export function connectThingWorx(o: ThingWorxServicesOptions): { sink: PoolSink; directory: RestDirectory } {
  const sink = new PoolSink(
    () =>
      new AlwaysOnPool({
        url: o.thingworxUrl,
        appKey: o.appKey,
        ca: o.ca,
        insecure: o.insecure,
        pipeCount: o.pipeCount,
        requestTimeoutMs: o.requestTimeoutMs,
        ...(o.pingDeadlineMs ? { pingDeadlineMs: o.pingDeadlineMs } : {}),
        maxInFlight: 4096,
        ...('reconnect' in o ? { reconnect: o.reconnect } : {}),
      }),
  );
  const directory = new RestDirectory(
    new ThingWorxRest({
      url: o.thingworxUrl,
      appKey: o.appKey,
      ca: o.ca,
      insecure: o.insecure,
      ...(o.restTimeoutMs ? { timeoutMs: o.restTimeoutMs } : {}),
    }),
  );
  return { sink, directory };
}

export async function startConnectedBridge(o: ConnectedBridgeOptions): Promise<Bridge> {
  const {
    thingworxUrl,
    appKey,
    ca,
    insecure,
    pipeCount,
    downlinkUrl,
    thingparkCa,
    requestTimeoutMs,
    pingDeadlineMs,
    ...rest
  } = o;
  const { sink, directory } = connectThingWorx({
    thingworxUrl,
    appKey,
    ca,
    insecure,
    pipeCount,
    requestTimeoutMs,
    pingDeadlineMs,
  });
  const downlinks =
    downlinkUrl && o.asId && o.asKey
      ? tunnelSender({ url: downlinkUrl, asId: o.asId, asKey: o.asKey, dispatcher: thingparkDispatcher(thingparkCa) })
      : undefined;
  return startBridge({ ...rest, sink, directory, downlinks });
}
