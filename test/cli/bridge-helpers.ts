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
  // NDJSON events parsed as they arrive; waiters are checked on each new event (no polling, no sleeps).
  const seen: Record<string, unknown>[] = [];
  const waiters: { test: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }[] =
    [];
  let partial = '';
  proc.child.stdout!.on('data', (d: Buffer | string) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.startsWith('{')) continue;
      const e = JSON.parse(l) as Record<string, unknown>;
      seen.push(e);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.test(e)) waiters.splice(i, 1)[0]!.resolve(e);
      }
    }
  });
  const event = (name: string, match: (e: Record<string, unknown>) => boolean = () => true) => {
    const test = (e: Record<string, unknown>) => e.event === name && match(e);
    const found = seen.find(test);
    if (found) return Promise.resolve(found);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${name} event in 45 s\n${proc.stdout}\n${proc.stderr}`)),
        45_000,
      );
      waiters.push({
        test,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
      void proc.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`tpx bridge exited before ${name}\n${proc.stdout}\n${proc.stderr}`));
      });
    });
  };
  const parse = () => seen;
  const listening = await event('bridge.listening');
  const base = String(listening.url);
  return { proc, url: `${base}${listening.path}`, base, event, events: parse } satisfies BridgeProcess;
}
