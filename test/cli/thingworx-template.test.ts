import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { TEMPLATE_PROPERTIES } from '../../src/thingworx/template.js';
import { tempConfigHome } from '../helpers/cli.js';
import { runInProcess as runTpx } from '../helpers/run.js';
import { stateFile } from '../thingworx/scenario-states.js';
import { findAll, parseXml } from '../thingworx/xml-wellformed.js';

describe('tpx thingworx import-template (bin/tpx.js)', () => {
  const home = tempConfigHome();
  let emu: ThingWorxEmulator;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    emu = await startThingWorxEmulator({ state: stateFile('missing-template') });
    env = {
      ...home.env,
      TPX_THINGWORX_URL: emu.restUrl,
      TPX_THINGWORX_APP_KEY: emu.appKey,
      TPX_THINGWORX_CA: emu.caFile,
    };
  });
  afterAll(async () => {
    await emu.close();
    home.cleanup();
  });

  it('--dry-run shows the plan and changes nothing; a run creates; a second run changes nothing', async () => {
    let r = await runTpx(['thingworx', 'import-template', '--dry-run'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dry run, nothing changed/);
    expect(r.stdout).toMatch(/create template/);
    expect(emu.state().templates ?? []).toEqual([]);

    r = await runTpx(['thingworx', 'import-template', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const first = JSON.parse(r.stdout);
    expect(first).toMatchObject({ template: 'actilityThingTemplateSF', existed: false, changed: true, created: true });
    expect(first.added).toEqual(TEMPLATE_PROPERTIES.map((p) => p.name));
    const after = JSON.stringify(emu.state().templates);

    r = await runTpx(['thingworx', 'import-template', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ existed: true, changed: false, created: false, added: [], steps: [] });
    expect(JSON.stringify(emu.state().templates)).toBe(after);

    r = await runTpx(['thingworx', 'import-template'], { env });
    expect(r.stdout).toMatch(/is up to date \(11 properties\); nothing to change/);
    expect(r.stdout + r.stderr).not.toContain(emu.appKey);
  });

  it('--export xml writes a well-formed entity file without any platform settings', async () => {
    const out = join(home.dir, 'tt.xml');
    let r = await runTpx(['thingworx', 'import-template', '--export', 'xml', '--output', out, '--template', 'myTT'], {
      env: home.env,
    });
    expect(r.code, r.stderr).toBe(0);
    const root = parseXml(readFileSync(out, 'utf8'));
    expect(findAll(root, 'ThingTemplate')[0]!.attrs.name).toBe('myTT');
    expect(findAll(root, 'PropertyDefinition')).toHaveLength(TEMPLATE_PROPERTIES.length);
    r = await runTpx(['thingworx', 'import-template', '--export', 'xml'], { env: home.env });
    expect(r.code).toBe(0);
    expect(parseXml(r.stdout).name).toBe('Entities');
    r = await runTpx(['thingworx', 'import-template', '--export', 'json'], { env: home.env });
    expect(r.code).toBe(2);
  });
});
