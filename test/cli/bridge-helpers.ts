/** Runs `tpx bridge` as a subprocess against in-process emulators. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startThingParkEmulator, type ThingParkEmulator } from '../../src/emulators/thingpark/index.js';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { ThingWorxRest } from '../../src/thingworx/rest.js';
import { TEMPLATE, templateState } from '../bridge/emulated.js';
import { TpxProcess, tempConfigHome } from '../helpers/cli.js';

export interface World {
  twx: ThingWorxEmulator;
  tp: ThingParkEmulator;
  home: ReturnType<typeof tempConfigHome>;
  caPath: string;
  spoolDir: string;
  env: NodeJS.ProcessEnv;
  rest: ThingWorxRest;
  close(): Promise<void>;
}

export async function world(known: string[] = []): Promise<World> {
  const twx = await startThingWorxEmulator({ state: templateState(known) });
  const tp = await startThingParkEmulator();
  const home = tempConfigHome();
  const caPath = join(home.dir, 'ca.pem');
  writeFileSync(caPath, readFileSync(twx.caFile));
  const env = {
    ...home.env,
    TPX_THINGWORX_URL: twx.restUrl,
    TPX_THINGWORX_APP_KEY: twx.appKey,
    TPX_THINGWORX_CA: caPath,
    TPX_AS_ID: tp.asId,
    TPX_AS_KEY: tp.asKey,
    TPX_THINGPARK_DOWNLINK_URL: tp.downlinkUrl,
    TPX_TEMPLATE: TEMPLATE,
  };
  const rest = new ThingWorxRest({ url: twx.restUrl, appKey: twx.appKey, ca: readFileSync(caPath, 'utf8') });
  return {
    twx,
    tp,
    home,
    caPath,
    spoolDir: join(home.dir, 'spool'),
    env,
    rest,
    async close() {
      await rest.close();
      await twx.close();
      await tp.close();
      home.cleanup();
    },
  };
}

export interface BridgeProcess {
  proc: TpxProcess;
  /** Ingest URL (…/uplink). */
  url: string;
  base: string;
  /** Resolves when an NDJSON event line matching the predicate appears on stdout. */
  event(name: string, match?: (e: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  events(): Record<string, unknown>[];
}

export async function startBridgeProcess(w: World, extra: string[] = [], env: NodeJS.ProcessEnv = w.env) {
  const proc = new TpxProcess(
    ['bridge', '--listen', '127.0.0.1:0', '--spool-dir', w.spoolDir, '--json', '--verbose', ...extra],
    { env },
  );
  const parse = () =>
    proc.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const event = async (name: string, match: (e: Record<string, unknown>) => boolean = () => true) => {
    const find = () => parse().find((e) => e.event === name && match(e));
    await proc.waitFor(new RegExp(`"event":"${name.replace('.', '\\.')}"`));
    let found = find();
    while (!found) {
      const n = proc.stdout.length;
      await proc.waitFor(new RegExp(`[\\s\\S]{${n + 1}}`));
      found = find();
    }
    return found;
  };
  const listening = await event('bridge.listening');
  const base = String(listening.url);
  return { proc, url: `${base}${listening.path}`, base, event, events: parse } satisfies BridgeProcess;
}
