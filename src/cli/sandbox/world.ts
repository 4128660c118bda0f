/**
 * The sandbox's world, in this process: the ThingWorx emulator (HTTPS + AlwaysOn with a generated certificate,
 * set up as the Actility guide says), the ThingPark emulator, the Thing Template imported through REST, and the
 * bridge between them. Then the profile that lets `tpx --profile <name> …` reach all of it from another terminal.
 * The only place besides tests that wires emulators and the bridge together (architecture.md).
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bridge, BridgeEvents } from '../../bridge/index.js';
import { startConnectedBridge } from '../../bridge/index.js';
import { configDir, configPath, updateProfile } from '../../config/profiles.js';
import type { DriverDecoder } from '../../drivers/decoder.js';
import { startThingParkEmulator, type ThingParkEmulator } from '../../emulators/thingpark/index.js';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../emulators/thingworx/index.js';
import { generateCertificate } from '../../emulators/tls.js';
import type { ThingWorxRest } from '../../thingworx/rest.js';
import { applyTemplatePlan, planTemplateImport } from '../../thingworx/template-import.js';
import { thingworxRest } from '../clients.js';
import type { BridgeHolders, HolderConnection } from '../holders.js';
import { startSandboxDrivers } from './driver-setup.js';
import { newKeys, type SandboxKeys, sandboxState } from './state.js';

export interface WorldOptions {
  /** Environment used to find the config directory ($XDG_CONFIG_HOME/tpx). */
  env: NodeJS.ProcessEnv;
  /** Profile written for the other commands. */
  profile: string;
  template: string;
  pipeCount: number;
  /** Bridge ingest address, default 127.0.0.1:0 (a free port). */
  listen?: string;
  /** Spool directory; default a new temporary one, removed at close. */
  spoolDir?: string;
  events: BridgeEvents;
  /** The bridge's bind check interval (ms); default the bridge's. */
  bindCheckMs?: number;
  /** Who holds the Things another connector takes (the bridge's `holderOf`), asked with the emulator's keys. */
  holders?: (c: HolderConnection) => Promise<BridgeHolders>;
}

export interface SandboxWorld {
  twx: ThingWorxEmulator;
  tp: ThingParkEmulator;
  bridge: Bridge;
  /** REST client with the connector's key (what a ThingWorx application would use). */
  rest: ThingWorxRest;
  keys: SandboxKeys;
  /** The payload drivers of the sandbox's device kinds (the bridge's decoder). */
  drivers: DriverDecoder;
  /** http://127.0.0.1:port/uplink */
  ingestUrl: string;
  caFile: string;
  spoolDir: string;
  configFile: string;
  /** Template import steps carried out at start. */
  templateSteps: number;
  /** Every profile key written (values are the real ones; mask the secrets before printing). */
  profileValues: Record<string, string>;
  /** Stops the bridge (draining for up to drainTimeoutMs) and both emulators; removes a temporary spool. */
  close(drainTimeoutMs?: number): Promise<{ drained: boolean; pending: number }>;
}

/** $XDG_CONFIG_HOME/tpx/sandbox/<profile>-ca.pem: a stable place for the CA the profile names. */
export function sandboxCaPath(env: NodeJS.ProcessEnv, profile: string): string {
  return join(configDir(env), 'sandbox', `${profile}-ca.pem`);
}

export async function startWorld(o: WorldOptions): Promise<SandboxWorld> {
  const dir = join(configDir(o.env), 'sandbox');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const cert = await generateCertificate({ dir });
  const caFile = sandboxCaPath(o.env, o.profile);
  renameSync(cert.caFile, caFile);
  const keys = newKeys();
  const cleanups: (() => Promise<unknown>)[] = [];
  const undo = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const twx = await startThingWorxEmulator({ state: sandboxState(keys), certificate: { ...cert, caFile } });
    cleanups.push(() => twx.close());
    const tp = await startThingParkEmulator({ openingDelayMs: 500 });
    cleanups.push(() => tp.close());
    const rest = thingworxRest({ url: twx.restUrl, appKey: keys.connectorKey, ca: cert.cert });
    cleanups.push(() => rest.close());
    const plan = await planTemplateImport(rest, o.template);
    const steps = await applyTemplatePlan(rest, plan);
    const drivers = await startSandboxDrivers({ rest, template: o.template, profile: o.profile, env: o.env });
    cleanups.push(() => drivers.close());
    const ownSpool = o.spoolDir === undefined;
    const spoolDir = o.spoolDir ?? mkdtempSync(join(tmpdir(), 'tpx-sandbox-spool-'));
    if (ownSpool) cleanups.push(async () => rmSync(spoolDir, { recursive: true, force: true }));
    const holders = await o.holders?.({
      thingworxUrl: twx.restUrl,
      appKey: keys.connectorKey,
      adminKey: keys.adminKey,
      ca: cert.cert,
      insecure: false,
      pipeCount: o.pipeCount,
    });
    if (holders) cleanups.push(() => holders.close());
    const bridge = await startSandboxBridge(o, { twx, tp, keys, ca: cert.cert, spoolDir, drivers, holders });
    const ingestUrl = `${bridge.url}${bridge.path}`;
    const { profileValues, configFile } = writeSandboxProfile(o, { twx, tp, keys, caFile, ingestUrl, spoolDir });
    let closing: Promise<{ drained: boolean; pending: number }> | undefined;
    return {
      twx,
      tp,
      bridge,
      rest,
      keys,
      drivers,
      ingestUrl,
      caFile,
      spoolDir,
      configFile: configFile || configPath(o.env),
      templateSteps: steps.length,
      profileValues,
      close(drainTimeoutMs = 10_000) {
        closing ??= (async () => {
          const r = await bridge.stop({ drainTimeoutMs });
          await undo();
          return r;
        })();
        return closing;
      },
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

/** The bridge of the sandbox: the ThingPark emulator's tunnel to the ThingWorx emulator. */
function startSandboxBridge(
  o: WorldOptions,
  w: {
    twx: ThingWorxEmulator;
    tp: ThingParkEmulator;
    keys: SandboxKeys;
    ca: string;
    spoolDir: string;
    drivers: DriverDecoder;
    holders: BridgeHolders | undefined;
  },
): Promise<Bridge> {
  const { twx, tp, keys, spoolDir, drivers, holders } = w;
  return startConnectedBridge({
    listen: o.listen ?? '127.0.0.1:0',
    path: '/uplink',
    spoolDir,
    asId: tp.asId,
    asKey: tp.asKey,
    template: o.template,
    thingworxUrl: twx.restUrl,
    appKey: keys.connectorKey,
    ca: w.ca,
    pipeCount: o.pipeCount,
    downlinkUrl: tp.downlinkUrl,
    durability: 'normal',
    events: o.events,
    decoder: drivers,
    ...(holders ? { holderOf: holders.holderOf } : {}),
    ...(o.bindCheckMs !== undefined ? { bindCheckMs: o.bindCheckMs } : {}),
  });
}

/** Writes the profile that points tpx at the sandbox; returns its values and the config file. */
function writeSandboxProfile(
  o: WorldOptions,
  w: {
    twx: ThingWorxEmulator;
    tp: ThingParkEmulator;
    keys: SandboxKeys;
    caFile: string;
    ingestUrl: string;
    spoolDir: string;
  },
) {
  const { twx, tp, keys, caFile, ingestUrl, spoolDir } = w;
  const profileValues: Record<string, string> = {
    thingworxUrl: twx.restUrl,
    thingworxAppKey: keys.connectorKey,
    thingworxAdminKey: keys.adminKey,
    thingworxCa: caFile,
    template: o.template,
    thingparkUrl: tp.url,
    thingparkApi: 'dx',
    thingparkClientId: tp.clientId,
    thingparkClientSecret: tp.clientSecret,
    thingparkDownlinkUrl: tp.downlinkUrl,
    asId: tp.asId,
    asKey: tp.asKey,
    bridgeUrl: ingestUrl,
    // `tpx --profile sandbox bridge dead-letters` looks at the sandbox's spool.
    spoolDir,
  };
  // thingworxInsecure and thingparkTokenUrl are removed: the sandbox verifies TLS and uses the default token URL.
  const configFile = updateProfile(
    o.profile,
    { ...profileValues, thingworxInsecure: undefined, thingparkTokenUrl: undefined },
    o.env,
  );
  return { profileValues, configFile };
}
