// A null AlwaysOn platform for benchmarks, run as a child process (node --input-type=module -e NULL_PLATFORM):
// it answers AUTH, BIND and every request (on its last chunk) with SUCCESS, reading only the header bytes, so that
// a benchmark measures the client or the bridge, not the emulator's storage. It prints one JSON line
// {url, wsUrl, appKey, caFile} when ready and exits when its stdin ends.
const tls = JSON.stringify(new URL('../dist/emulators/tls.js', import.meta.url).href);

export const NULL_PLATFORM = `
import { createServer } from 'node:https';
import { WebSocketServer } from 'ws';
import { generateCertificate } from ${tls};
const m = await generateCertificate();
const server = createServer({ cert: m.cert, key: m.key, minVersion: 'TLSv1.2' });
const wss = new WebSocketServer({ server, path: '/Thingworx/WS', perMessageDeflate: false });
let nextSession = 1;
wss.on('connection', (ws) => {
  const session = nextSession++;
  ws.on('message', (d) => {
    if (d.length < 15 || d[1] >= 0x40) return;
    if (d[14] !== 0 && d.readUInt16BE(15) !== d.readUInt16BE(17)) return;
    const r = Buffer.from([1, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff]);
    d.copy(r, 2, 2, 10);
    r.writeUInt32BE(session, 10);
    ws.send(r);
  });
});
server.listen(0, '127.0.0.1', () => {
  const base = 'https://127.0.0.1:' + server.address().port;
  console.log(JSON.stringify({ url: base, wsUrl: base.replace('https', 'wss') + '/Thingworx/WS', appKey: 'any', caFile: m.caFile }));
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

/**
 * Runs an ES module source in a child process of its own (cwd the project) that prints one JSON line once ready and
 * exits when its stdin ends; resolves with that JSON and stop(). The one starter of the benchmarks' platforms.
 */
export async function startChild(source, what) {
  const { spawn } = await import('node:child_process');
  const { createInterface } = await import('node:readline');
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
    stdio: ['pipe', 'pipe', 'inherit'],
    cwd: new URL('..', import.meta.url).pathname,
  });
  const first = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
  });
  return { ...JSON.parse(first), stop: () => child.stdin.end() };
}

/** Starts the null platform in a child process; resolves with {url, wsUrl, appKey, caFile, stop()}. */
export function startNullPlatform() {
  return startChild(NULL_PLATFORM, 'platform');
}

/**
 * A bridge of this process (dist/) with `devices` Things known at start (listed, then bound), pushing over AlwaysOn
 * to `platform` (the null platform: {url, caFile}), or to `sink` when given. `options` are startBridge's own
 * (durability, maxSpool, dedupWindowMs…). Resolves once ready with {bridge, spoolDir, bindMs, stop()}; stop() also
 * removes the spool folder. The one bridge of the benchmarks that drive a whole bridge. BENCH_SPOOL_GATHER (ms) sets
 * its spool gather window (default the bridge's own; 0 turns it off).
 */
export async function startBenchBridge({ platform, devices, sink, ...options }) {
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { AS_ID, AS_KEY, devEui } = await import('./load-client.js');
  const { AlwaysOnPool } = await import('../dist/alwayson/index.js');
  const { PoolSink, startBridge } = await import('../dist/bridge/index.js');
  const spoolDir = mkdtempSync(join(tmpdir(), 'tpx-bench-bridge-'));
  const names = Array.from({ length: devices }, (_, i) => devEui(i));
  const ca = sink ? undefined : readFileSync(platform.caFile);
  const t0 = performance.now();
  const bridge = await startBridge({
    listen: '127.0.0.1:0',
    spoolDir,
    asId: AS_ID,
    asKey: AS_KEY,
    template: 'actilityThingTemplateSF',
    sink:
      sink ??
      new PoolSink(
        () => new AlwaysOnPool({ url: platform.url, appKey: 'bench', ca, requestTimeoutMs: 30_000, maxInFlight: 4096 }),
      ),
    directory: { list: async () => ({ names, pages: Math.ceil(devices / 1000) }), create: async () => 'exists' },
    ...(process.env.BENCH_SPOOL_GATHER ? { spoolGatherMs: Number(process.env.BENCH_SPOOL_GATHER) } : {}),
    ...options,
  });
  await bridge.whenReady();
  return {
    bridge,
    spoolDir,
    bindMs: performance.now() - t0,
    stop: async () => {
      await bridge.stop({ drainTimeoutMs: 1000 });
      rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}
