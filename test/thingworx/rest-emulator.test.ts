import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { ThingWorxError } from '../../src/thingworx/errors.js';
import { ThingWorxRest } from '../../src/thingworx/rest.js';
import { CONNECTOR_KEY, stateFile } from './scenario-states.js';

describe('ThingWorxRest against the emulator', () => {
  let emu: ThingWorxEmulator;
  let rest: ThingWorxRest;
  beforeAll(async () => {
    emu = await startThingWorxEmulator({ state: stateFile('fully-set-up') });
    rest = new ThingWorxRest({ url: emu.restUrl, appKey: CONNECTOR_KEY, ca: readFileSync(emu.caFile) });
  });
  afterAll(async () => {
    await rest.close();
    await emu.close();
  });

  it('provisions a Thing: create, enable, restart, list, read, write, history, delete', async () => {
    expect(await rest.getCurrentUser()).toBe('tpx-connector');
    await rest.createThing('0018B20000000001', 'RemoteThing', 'probe');
    await rest.enableThing('0018B20000000001');
    await rest.restartThing('0018B20000000001');
    expect(emu.thing('0018B20000000001')?.enabled).toBe(true);
    await rest.addPropertyDefinition('0018B20000000001', { name: 'note', type: 'STRING', logged: true }, 'Things');
    await rest.setProperties('0018B20000000001', { note: 'first' });
    await rest.setProperties('0018B20000000001', { note: 'second' });
    expect((await rest.getProperties('0018B20000000001')).note).toBe('second');
    const history = await rest.queryPropertyHistory('0018B20000000001', { oldestFirst: true });
    expect(history.map((r) => r.note).filter(Boolean)).toEqual(['first', 'second']);
    expect((await rest.getEntityList('Thing', { nameMask: '0018B2*' })).map((r) => r.name)).toEqual([
      '0018B20000000001',
    ]);
    expect(await rest.listEntityNames('Thing', { prefix: '0018B2', pageSize: 1 })).toEqual(['0018B20000000001']);
    await rest.deleteThing('0018B20000000001');
    expect(emu.thing('0018B20000000001')).toBeUndefined();
  });

  it('reads the template and its property definitions; a missing one is undefined', async () => {
    const tt = await rest.getThingTemplate('actilityThingTemplateSF');
    expect(tt).toMatchObject({ name: 'actilityThingTemplateSF', baseThingTemplate: 'RemoteThing' });
    const defs = await rest.getPropertyDefinitions('actilityThingTemplateSF');
    expect(defs.find((d) => d.name === 'uplinkData')).toMatchObject({ baseType: 'JSON', isLogged: true });
    expect(defs.find((d) => d.name === 'downlink')).toMatchObject({ isRemote: true });
    expect(await rest.getThingTemplate('nope')).toBeUndefined();
  });

  it('a duplicate CreateThing and an unknown Thing are typed errors', async () => {
    await rest.createThing('dup', 'RemoteThing');
    const dup = await rest.createThing('dup', 'RemoteThing').catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(ThingWorxError);
    expect(dup).toMatchObject({ code: 'TPX_TWX_ALREADY_EXISTS', status: 403 });
    await expect(rest.getProperties('nope')).rejects.toMatchObject({ code: 'TPX_TWX_NOT_FOUND', status: 404 });
    await rest.deleteThing('dup');
  });
});
