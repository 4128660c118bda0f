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
}

export async function startConnectedBridge(o: ConnectedBridgeOptions): Promise<Bridge> {
  const { thingworxUrl, appKey, ca, insecure, pipeCount, downlinkUrl, thingparkCa, requestTimeoutMs, ...rest } = o;
  const sink = new PoolSink(
    () =>
      new AlwaysOnPool({
        url: thingworxUrl,
        appKey,
        ca,
        insecure,
        pipeCount,
        requestTimeoutMs,
        maxInFlight: 4096,
      }),
  );
  const directory = new RestDirectory(new ThingWorxRest({ url: thingworxUrl, appKey, ca, insecure }));
  const downlinks =
    downlinkUrl && o.asId && o.asKey
      ? tunnelSender({ url: downlinkUrl, asId: o.asId, asKey: o.asKey, dispatcher: thingparkDispatcher(thingparkCa) })
      : undefined;
  return startBridge({ ...rest, sink, directory, downlinks });
}
