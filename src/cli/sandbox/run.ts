/**
 * `tpx sandbox`: the whole chain on this machine. Starts the world (world.ts), simulates devices (devices.ts)
 * and application downlinks (downlinks.ts), shows a live table on a TTY or NDJSON events with --json, and on
 * Ctrl-C or after --duration drains everything and prints a summary (exit 0 only when nothing was lost).
 */
import { Agent } from 'undici';
import { BridgeEvents, eventLevel, formatEvent } from '../../bridge/index.js';
import { validateProfileName } from '../../config/profiles.js';
import { TpxError } from '../../errors.js';
import { formatDuration, formatElapsed } from '../../util/duration.js';
import type { CommandContext } from '../context.js';
import { bridgeHolders } from '../holders.js';
import { say } from '../phrases.js';
import { truncate } from '../table.js';
import { DeviceSimulator, sandboxDevEui } from './devices.js';
import { DownlinkSimulator } from './downlinks.js';
import { applyDownlink, shortDecoded } from './drivers.js';
import { LiveBlock, renderDeviceTable, type ThingState, totalsLine } from './table.js';
import { type SandboxSummary, Tracker } from './tracker.js';
import { type SandboxWorld, startWorld } from './world.js';

export interface SandboxSettings {
  /** Profile to write (default "sandbox"). */
  profile: string;
  devices: number;
  /** Uplinks per second, all devices together. */
  rate: number;
  /** Stop by itself after this long (undefined: until Ctrl-C). */
  durationMs?: number;
  /** Milliseconds between simulated downlinks (0: none). */
  downlinkEveryMs: number;
  template: string;
  pipeCount: number;
  listen?: string;
  spoolDir?: string;
  /** The bridge's bind check interval (ms); default the bridge's (10 s). */
  bindCheckMs?: number;
}

const READY_TIMEOUT_MS = 30_000;

/** Bridge events said even without --verbose: the end of a takeover (the takeover itself is a warning). */
const BINDING_NEWS = new Set<string>(['things.recovered', 'things.took_over']);

/** Resolves on the first of: `signal` aborted, `cancel` aborted, `ms` elapsed (never when ms is undefined). */
function wait(signal: AbortSignal, ms: number | undefined, cancel?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || cancel?.aborted) return resolve();
    const done = () => {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', done);
      cancel?.removeEventListener('abort', done);
      resolve();
    };
    const timer = ms === undefined ? undefined : setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    cancel?.addEventListener('abort', done, { once: true });
  });
}

function readyLines(ctx: CommandContext, w: SandboxWorld, s: SandboxSettings): string[] {
  const c = ctx.io.color;
  const p = s.profile === 'sandbox' ? '--profile sandbox' : `--profile ${s.profile}`;
  const first = sandboxDevEui(1);
  const every = s.downlinkEveryMs ? `a downlink every ${formatDuration(s.downlinkEveryMs)}` : 'no downlinks';
  return [
    c.bold('tpx sandbox: ThingWorx and ThingPark emulators and the bridge, in this process (loopback only)'),
    `  ThingWorx  ${w.twx.restUrl}/Thingworx  REST and AlwaysOn over TLS; CA ${w.caFile}`,
    `  ThingPark  ${w.tp.url}  OAuth2, connections API, LRC downlinks (${w.tp.url}/_emulator/downlinks)`,
    `  bridge     ${w.ingestUrl}  ${w.bridge.url}/readyz  ${w.bridge.url}/metrics`,
    `Profile "${s.profile}" written to ${w.configFile}. In another terminal:`,
    `  tpx ${p} thing list`,
    `  tpx ${p} thing show ${first}`,
    `  tpx ${p} uplink send --dev-eui ${first} --payload 01aa`,
    `  tpx ${p} downlink push --dev-eui ${first} --payload 0201 --wait 10s`,
    `  tpx ${p} thingworx check`,
    `  tpx ${p} connection list`,
    `${s.devices} devices (${first} … ${sandboxDevEui(s.devices)}), ${s.rate} uplink(s)/s, ${every}.` +
      (s.durationMs ? ` Stops after ${formatDuration(s.durationMs)}.` : ' Stop with Ctrl-C.'),
  ];
}

function summaryLines(s: SandboxSummary, devices: number): string[] {
  const u = s.uplinks;
  const d = s.downlinks;
  return [
    `Sandbox stopped after ${formatElapsed(Math.round(s.durationMs / 1000) * 1000)} (${devices} devices, ${s.devicesSending} of them sent uplinks).`,
    `  uplinks    ${u.sent} sent, ${u.delivered} delivered to ThingWorx, ${u.lost} lost` +
      (u.rejected ? ` (${u.rejected} refused by the bridge)` : ''),
    `  downlinks  ${d.sent} written in ThingWorx, ${d.confirmed} confirmed, ${d.lost} lost` +
      (d.taken ? ` (${d.taken} more not delivered here: another connector held the Things)` : ''),
    ...(s.thingsTaken ? [`  Things     ${s.thingsTaken} taken by another session at the end`] : []),
    ...(s.otherDelivered ? [`  also delivered: ${s.otherDelivered} uplink(s) from other senders`] : []),
  ];
}

/** What the live table shows besides the rows: whether it is on, and the last problem to show under it. */
export interface Screen {
  live: boolean;
  lastProblem: string;
}

/** The simulators, set as they are made (the run stops whichever exist). */
interface Simulators {
  devices?: DeviceSimulator;
  downlinks?: DownlinkSimulator;
}

type IO = CommandContext['io'];

export async function runSandbox(ctx: CommandContext, s: SandboxSettings): Promise<number> {
  validateProfileName(s.profile);
  const io = ctx.io;
  const { signal, release } = ctx.shutdownSignal();
  const events = new BridgeEvents();
  const tracker = new Tracker();
  const screen: Screen = { live: !io.json && !io.quiet && io.isStdoutTTY, lastProblem: '' };
  logSandboxEvents(io, events, tracker, screen);
  io.info('Starting the ThingWorx and ThingPark emulators and the bridge…');
  let world: SandboxWorld;
  try {
    world = await startWorld({
      env: ctx.env,
      profile: s.profile,
      template: s.template,
      pipeCount: s.pipeCount,
      listen: s.listen,
      spoolDir: s.spoolDir,
      events,
      bindCheckMs: s.bindCheckMs,
      // the holder of Things another connector takes (things.taken), as `tpx bridge --admin-key` names it (the
      // settings of --profile are not read: the sandbox writes that profile)
      holders: (c) => bridgeHolders(io, c),
    });
  } catch (err) {
    release();
    throw err;
  }
  watchWorld(io, world, events, tracker, screen, s);
  const agent = new Agent({ connections: 32, keepAliveTimeout: 30_000 });
  const sims: Simulators = {};
  let timer: NodeJS.Timeout | undefined;
  try {
    await waitForBridge(world, signal);
    announceReady(ctx, world, s);
    const { devices, downlinks } = startSimulators(io, world, tracker, agent, screen, sims, s, signal);
    if (screen.live) timer = startLiveTable(io, world, tracker, screen);
    await wait(signal, s.durationMs);
    if (timer) clearInterval(timer);
    await drainSandbox(io, world, tracker, devices, downlinks, signal);
  } finally {
    if (timer) clearInterval(timer);
    await sims.devices?.stop();
    await sims.downlinks?.stop();
    await agent.close();
    await world.close(10_000);
    release();
  }
  return finishSandbox(io, tracker, world, s);
}

/** Feeds the tracker with the bridge's events and says them: NDJSON with --json, else problems and binding news. */
export function logSandboxEvents(io: IO, events: BridgeEvents, tracker: Tracker, screen: Screen) {
  const live = screen.live;
  events.onAny((name, payload) => {
    tracker.onBridgeEvent(name, payload);
    // with its payload: a few events' level depends on it (push.failing in an outage, a platform request's answer)
    const level = eventLevel(name, payload);
    if (io.json) {
      if (level !== 'debug' || io.verbose) io.event(name, payload);
    } else if (level === 'warn' || level === 'error' || (io.verbose && !live) || BINDING_NEWS.has(name)) {
      const text = formatEvent(name, payload, 'text', new Date(), say);
      if (live) screen.lastProblem = text;
      else if (BINDING_NEWS.has(name)) io.info(text);
      else if (level === 'debug' || level === 'info') io.debug(text);
      else io.warn(text);
    }
  });
  if (io.json) {
    tracker.events.on('delivered', (e: object) => io.event('uplink.delivered', e));
    tracker.events.on('downlink', (e: object) => io.event('downlink.status', e));
  }
}

/** Follows the world: Things taken and recovered, decoded uplinks, downlinks the network transmits; hides keys. */
function watchWorld(
  io: IO,
  world: SandboxWorld,
  events: BridgeEvents,
  tracker: Tracker,
  screen: Screen,
  s: SandboxSettings,
) {
  // Another connector with the same Things (e.g. `tpx --profile sandbox bridge` in another terminal): the bridge's
  // bind check says which Things it lost and got back; the tracker counts what could not go through it meanwhile.
  tracker.takenLeadMs = (s.bindCheckMs ?? 10_000) + 1000;
  const bindingsChanged = () => {
    for (const devEui of tracker.rows.keys()) {
      if (world.bridge.bindingOf(devEui) === 'taken') tracker.thingTaken(devEui);
      else if (world.bridge.bindingOf(devEui) === 'bound') tracker.thingRecovered(devEui);
    }
  };
  events.on('things.taken', bindingsChanged);
  events.on('things.recovered', bindingsChanged);
  events.on('things.took_over', bindingsChanged);
  world.drivers.on('decoded', (e) => {
    tracker.row(e.devEui).decoded = shortDecoded(e.data);
    if (io.json) io.event('uplink.decoded', { devEui: e.devEui, driver: e.driver, data: e.data });
  });
  world.drivers.on('decode.failed', (e) => {
    if (io.json) io.event('uplink.decode_failed', { ...e });
    else if (!screen.live) io.warn(`${e.driver} could not decode an uplink of ${e.devEui}: ${e.errors.join('; ')}`);
  });
  world.tp.on('downlink', (d: { devEui: string; fPort: number; payloadHex?: string }) =>
    applyDownlink(d.devEui, d.fPort, d.payloadHex ?? ''),
  );
  const k = world.keys;
  io.addSecrets(k.connectorKey, k.adminKey, world.tp.clientSecret, world.tp.asKey);
}

/** Waits for the bridge to connect to the ThingWorx emulator (or Ctrl-C); throws after READY_TIMEOUT_MS. */
async function waitForBridge(world: SandboxWorld, signal: AbortSignal) {
  const readyWait = new AbortController();
  const ready = await Promise.race([
    world.bridge.whenReady().then(() => true),
    wait(signal, READY_TIMEOUT_MS, readyWait.signal).then(() => signal.aborted),
  ]);
  readyWait.abort();
  if (!ready) {
    throw new TpxError(
      'TPX_SANDBOX_START',
      `The bridge did not connect to the ThingWorx emulator within ${formatDuration(READY_TIMEOUT_MS)}.`,
      { fix: 'Run tpx sandbox --verbose to see the bridge events.' },
    );
  }
}

/** sandbox.ready with --json, else the ready lines (addresses and commands to try). */
function announceReady(ctx: CommandContext, world: SandboxWorld, s: SandboxSettings) {
  const io = ctx.io;
  if (io.json) {
    io.event('sandbox.ready', {
      profile: s.profile,
      configFile: world.configFile,
      thingworxUrl: world.twx.restUrl,
      caFile: world.caFile,
      thingparkUrl: world.tp.url,
      downlinkUrl: world.tp.downlinkUrl,
      bridgeUrl: world.ingestUrl,
      devices: s.devices,
      firstDevEui: sandboxDevEui(1),
      lastDevEui: sandboxDevEui(s.devices),
      rate: s.rate,
      templateSteps: world.templateSteps,
    });
  } else {
    io.out(readyLines(ctx, world, s).join('\n'));
  }
}

/** Makes the device and downlink simulators (into `sims`) and starts them unless already stopping. */
function startSimulators(
  io: IO,
  world: SandboxWorld,
  tracker: Tracker,
  agent: Agent,
  screen: Screen,
  sims: Simulators,
  s: SandboxSettings,
  signal: AbortSignal,
) {
  const live = screen.live;
  const post = (doc: unknown) => world.tp.postUplink(world.ingestUrl, doc, { dispatcher: agent });
  const downlinks = new DownlinkSimulator({
    everyMs: s.downlinkEveryMs,
    tracker,
    write: (thing, value) => world.rest.setProperties(thing, { downlink: value }),
    report: post,
    onError: (m) => {
      if (live) screen.lastProblem = m;
      else io.warn(m);
    },
  });
  sims.downlinks = downlinks;
  const devices = new DeviceSimulator({
    devices: s.devices,
    rate: s.rate,
    post,
    onUplink: (o) => {
      tracker.uplinkSent(o);
      if (io.json) {
        io.event('uplink.sent', {
          devEui: o.devEui,
          fcnt: o.fcnt,
          status: o.status,
          ...(o.seq !== undefined ? { seq: o.seq } : {}),
          rssi: o.radio.rssi,
          snr: o.radio.snr,
          ...(o.error ? { error: o.error } : {}),
        });
      } else if (o.error && !live) io.warn(`uplink of ${o.devEui} refused: ${o.error}`);
      if (o.error && live) screen.lastProblem = `uplink of ${o.devEui} refused: ${o.error}`;
      downlinks.afterUplink(o.devEui);
    },
  });
  sims.devices = devices;
  for (let n = 1; n <= s.devices; n++) tracker.row(sandboxDevEui(n));
  tracker.restartClock();
  if (!signal.aborted) {
    devices.start();
    downlinks.start();
  }
  return { devices, downlinks };
}

/** The live table on a TTY, redrawn every 500 ms; returns its timer. */
function startLiveTable(io: IO, world: SandboxWorld, tracker: Tracker, screen: Screen): NodeJS.Timeout {
  const out = io.stdout as { columns?: number; rows?: number };
  const block = new LiveBlock(
    (t) => io.stdout.write(t),
    () => out.columns || 80,
  );
  const thing = (devEui: string): ThingState => {
    const t = world.twx.thing(devEui);
    if (!t) return 'none';
    const b = world.bridge.bindingOf(devEui);
    if (b === 'taken') return 'taken';
    return b === 'bound' && t.boundTo ? 'bound' : 'unbound';
  };
  const draw = () => {
    const rows = [...tracker.rows.values()];
    // The ready lines scroll away: the block fills the terminal (at 80x24, 20 devices).
    const width = out.columns || 80;
    const lines = [
      truncate(totalsLine(tracker.summary(), io.color), width - 1),
      ...renderDeviceTable(rows, {
        now: Date.now(),
        color: io.color,
        thing,
        maxRows: Math.max(3, (out.rows || 24) - 4),
        width: width - 1,
      }),
      screen.lastProblem ? io.color.yellow(truncate(screen.lastProblem, width - 1)) : '',
    ];
    block.draw(lines);
  };
  draw();
  return setInterval(draw, 500);
}

/** Stops the simulators and waits for every uplink and downlink to reach its end. */
async function drainSandbox(
  io: IO,
  world: SandboxWorld,
  tracker: Tracker,
  devices: DeviceSimulator,
  downlinks: DownlinkSimulator,
  signal: AbortSignal,
) {
  io.info(
    signal.aborted ? 'Stopping: draining the bridge (Ctrl-C again to quit at once)…' : 'Stopping: draining the bridge…',
  );
  if (io.json) io.event('sandbox.stopping', { reason: signal.aborted ? 'signal' : 'duration' });
  await devices.stop();
  await downlinks.stop();
  // Every written downlink reaches the bridge's verdict, then the network "transmits" the queued ones.
  await tracker.waitUntil(
    () =>
      ![...tracker.rows.values()].some(
        (r) => r.lastDownlink?.state === 'written' && !tracker.takenDownlink(r.devEui, r.lastDownlink),
      ),
    10_000,
  );
  downlinks.flushReports();
  await downlinks.settle();
  await world.bridge.whenDrained(30_000);
  await tracker.waitUntil(() => tracker.openDownlinks === 0 && tracker.undelivered === 0, 10_000);
}

/** The summary; throws TPX_SANDBOX_LOST when anything was lost. */
function finishSandbox(io: IO, tracker: Tracker, world: SandboxWorld, s: SandboxSettings): number {
  const summary = tracker.summary();
  if (io.json) io.event('sandbox.summary', { devices: s.devices, ...summary });
  else io.out(summaryLines(summary, s.devices).join('\n'));
  if (summary.uplinks.lost > 0 || summary.downlinks.lost > 0) {
    throw new TpxError(
      'TPX_SANDBOX_LOST',
      `${summary.uplinks.lost} uplink(s) and ${summary.downlinks.lost} downlink(s) were not delivered.`,
      { fix: 'Run it again with --verbose to see the bridge events, and report it: the sandbox must lose nothing.' },
    );
  }
  io.info(`The "${s.profile}" profile stays in ${world.configFile}; start tpx sandbox again before using it.`);
  return 0;
}
