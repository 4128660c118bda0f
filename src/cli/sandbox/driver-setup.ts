/**
 * The sandbox's payload drivers at start: each added to the sandbox profile (so `tpx --profile sandbox driver …`
 * works from another terminal), its template (typed properties) created in the ThingWorx emulator, and all of them
 * started for the bridge, assigned by DriverCfg.id as ThingPark's catalogue devices are.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DriverDecoder, type DriverSetup } from '../../drivers/decoder.js';
import { addDriver, updateDriver } from '../../drivers/registry.js';
import { typedFields } from '../../drivers/schema.js';
import {
  applyDriverTemplate,
  driverProperties,
  driverTemplateName,
  planDriverTemplate,
} from '../../drivers/template.js';
import type { ThingWorxRest } from '../../thingworx/rest.js';
import { parseDuration } from '../../util/duration.js';
import { driverCfg, driverFiles, SANDBOX_DRIVERS } from './drivers.js';

export async function startSandboxDrivers(o: {
  rest: ThingWorxRest;
  template: string;
  profile: string;
  env: NodeJS.ProcessEnv;
}): Promise<DriverDecoder> {
  const setups: DriverSetup[] = [];
  for (const d of SANDBOX_DRIVERS) {
    const dir = mkdtempSync(join(tmpdir(), 'tpx-sandbox-driver-'));
    try {
      for (const [file, text] of Object.entries(driverFiles(d))) writeFileSync(join(dir, file), text);
      const assign = [{ type: 'field' as const, path: 'DriverCfg.id', value: String(driverCfg(d.kind).id) }];
      const { entry, pkg } = addDriver(o.profile, { source: dir, name: d.name, assign, replace: true }, o.env);
      const template = driverTemplateName(o.template, entry.name);
      const plan = await planDriverTemplate(
        o.rest,
        template,
        o.template,
        driverProperties(entry.name, typedFields(pkg.uplinkSchema)),
      );
      await applyDriverTemplate(o.rest, plan, entry.name);
      updateDriver(o.profile, entry.name, (e) => ({ ...e, source: `tpx sandbox (${d.kind})`, template }), o.env);
      setups.push({ name: entry.name, pkg, assign, template });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // TPX_DRIVER_TIMEOUT is honoured (the sandbox writes its profile, so only the environment can set it).
  const timeoutMs = parseDuration(o.env.TPX_DRIVER_TIMEOUT ?? '');
  return DriverDecoder.start(setups, timeoutMs ? { timeoutMs } : {});
}
