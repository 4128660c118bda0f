/** The Thing Template step of runThingWorxSetup, in-process against the emulator. */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type EmulatorState, startThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { ThingWorxRest } from '../../src/thingworx/rest.js';
import { runThingWorxSetup } from '../../src/thingworx/setup.js';
import { TEMPLATE_PROPERTIES } from '../../src/thingworx/template.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function setup(state: EmulatorState, dryRun = false) {
  const emu = await startThingWorxEmulator({ port: 0, state });
  open.push(emu);
  const ca = readFileSync(emu.caFile);
  const admin = new ThingWorxRest({ url: emu.restUrl, appKey: emu.appKey, ca });
  open.push(admin);
  const keys: (string | undefined)[] = [];
  const result = await runThingWorxSetup({
    client: admin,
    user: 'tpx-connector',
    keyExpiresAt: new Date(Date.now() + 30 * 86_400_000),
    dryRun,
    template: {
      name: 'actilityThingTemplateSF',
      connect: (appKey) => {
        keys.push(appKey);
        if (!appKey) return { rest: admin, close: async () => {} };
        const rest = new ThingWorxRest({ url: emu.restUrl, appKey, ca });
        return { rest, close: () => rest.close() };
      },
    },
  });
  return { emu, result, keys, step: result.steps.find((s) => s.id === 'template')! };
}

const uplinkOnly = (baseType = 'JSON'): EmulatorState => ({
  templates: [
    {
      name: 'actilityThingTemplateSF',
      base: 'RemoteThing',
      owner: 'Administrator',
      properties: [{ name: 'uplinkData', baseType, isLogged: true }],
    },
  ],
});

describe('setup: Thing Template', () => {
  it('adds the missing properties of an existing template with the administrator credentials', async () => {
    const { emu, step, keys } = await setup(uplinkOnly());
    expect(step).toMatchObject({ status: 'done', detail: `added ${TEMPLATE_PROPERTIES.length - 1} properties` });
    expect(keys).toEqual([undefined]);
    const t = emu.state().templates!.find((x) => x.name === 'actilityThingTemplateSF')!;
    expect(t.owner).toBe('Administrator');
    expect(t.properties!.map((p) => p.name).sort()).toEqual(TEMPLATE_PROPERTIES.map((p) => p.name).sort());
  });

  it('creates a missing template with the new key (the connector user owns it); dry run only plans', async () => {
    const dry = await setup({}, true);
    expect(dry.step).toMatchObject({
      status: 'planned',
      detail: `would create it with ${TEMPLATE_PROPERTIES.length} properties`,
    });
    expect(dry.emu.state().templates?.some((t) => t.name === 'actilityThingTemplateSF')).toBeFalsy();

    const { emu, step, keys, result } = await setup({});
    expect(step.status).toBe('done');
    expect(keys).toEqual([undefined, result.appKey]);
    expect(emu.state().templates!.find((x) => x.name === 'actilityThingTemplateSF')!.owner).toBe('tpx-connector');
  });

  it('a template with a property of the wrong type stops setup with what is wrong', async () => {
    await expect(setup(uplinkOnly('STRING'))).rejects.toMatchObject({
      code: 'TPX_SETUP_TEMPLATE',
      message: 'Thing Template actilityThingTemplateSF exists but uplinkData is STRING, not JSON.',
    });
  });
});
