/** Builds and posts signed ThingPark reports for bridge tests, and starts bridges on fakes. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Delivery, type DeliveryOptions } from '../../src/bridge/delivery.js';
import { BridgeEvents } from '../../src/bridge/events.js';
import { type Bridge, type BridgeOptions, startBridge } from '../../src/bridge/index.js';
import { Provisioner } from '../../src/bridge/provisioning.js';
import type { ReportQueue } from '../../src/bridge/queue.js';
import { tunnelReportCodec } from '../../src/bridge/report-parser.js';
import { signUplink } from '../../src/thingpark/tunnel.js';
import { FakeDirectory, FakeSender, type FakeSink } from './fakes.js';

export const AS_ID = 'TWA_100000507.1111.AS';
export const AS_KEY = '46ab678cd45df4a4e4b375Eacd096acc';

export function uplinkDoc(devEui: string, fcnt: number, payload = '0027bd00', time = new Date()) {
  return {
    DevEUI_uplink: {
      Time: time.toISOString().replace('Z', '+00:00'),
      DevEUI: devEui,
      FPort: 2,
      FCntUp: fcnt,
      payload_hex: payload,
      LrrRSSI: -60.5,
      LrrSNR: 9.75,
      SpFact: 7,
      CustomerID: '100000507',
      Late: 0,
    },
  };
}

export function signedQuery(doc: unknown, time?: Date): string {
  return signUplink(doc, { asId: AS_ID, asKey: AS_KEY, time }).queryString;
}

export async function post(
  base: string,
  doc: unknown,
  options: { query?: string; body?: string; contentType?: string; path?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const q = options.query ?? signedQuery(doc);
  const res = await fetch(`${base}${options.path ?? '/uplink'}?${q}`, {
    method: 'POST',
    headers: { 'content-type': options.contentType ?? 'application/json' },
    body: options.body ?? JSON.stringify(doc),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tpx-bridge-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A bridge on fakes for a test: listening on a free port, a temporary spool (or `spoolDir`), the test keys, short
 * retries; `options` may replace any of it. Its stop and the spool's removal go to `cleanups` (run in reverse).
 */
export async function startTestBridge(
  cleanups: (() => Promise<void> | void)[],
  options: Partial<BridgeOptions> & Pick<BridgeOptions, 'sink' | 'directory'>,
  spoolDir?: string,
): Promise<{ bridge: Bridge; dir: string; stop: () => Promise<void> }> {
  const t = spoolDir ? { dir: spoolDir, cleanup: () => undefined } : tempDir();
  cleanups.push(t.cleanup);
  const bridge = await startBridge({
    listen: '127.0.0.1:0',
    spoolDir: t.dir,
    asId: AS_ID,
    asKey: AS_KEY,
    template: 'actilityThingTemplateSF',
    retryBaseMs: 20,
    retryMaxMs: 100,
    downlinks: new FakeSender(),
    ...options,
  });
  let stopped = false;
  const stop = async () => {
    if (!stopped) await bridge.stop({ drainTimeoutMs: 0 });
    stopped = true;
  };
  cleanups.push(stop);
  return { bridge, dir: t.dir, stop };
}

/**
 * Delivery alone over `queue`, pushing to `sink`, with the Thing of `devEui` known and bound (a provisioner on a fake
 * directory) and its gate open: for tests of delivery's own decisions. `bound: false`: known, not bound yet (bound
 * by its first report, as a fleet bridge does).
 */
export async function deliveryFor(
  queue: ReportQueue,
  sink: FakeSink,
  devEui: string,
  options: DeliveryOptions = {},
  { bound = true }: { bound?: boolean } = {},
): Promise<{ delivery: Delivery; events: BridgeEvents; codec: ReturnType<typeof tunnelReportCodec> }> {
  if (bound) sink.bound.add(devEui);
  const events = new BridgeEvents();
  const directory = new FakeDirectory();
  directory.things.add(devEui);
  const provisioner = new Provisioner(directory, sink, events, {
    template: 't',
    maxDevices: 10,
    ...(bound ? {} : { bindKnown: false }),
  });
  await provisioner.init();
  const codec = tunnelReportCodec();
  const delivery = new Delivery(queue, (text) => codec.parse(JSON.parse(text)), sink, provisioner, events, options);
  delivery.setGate(true);
  return { delivery, events, codec };
}
