import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { ThingWorxRest } from '../../src/thingworx/rest.js';
import {
  compareTemplate,
  DEFAULT_TEMPLATE_NAME,
  TEMPLATE_PROPERTIES,
  TEMPLATE_PROPERTY_NAMES,
} from '../../src/thingworx/template.js';
import { applyTemplatePlan, planTemplateImport } from '../../src/thingworx/template-import.js';
import { templateXml, xmlEscape } from '../../src/thingworx/template-xml.js';
import { CONNECTOR_KEY, exampleState, type fullySetUp } from './scenario-states.js';
import { findAll, parseXml } from './xml-wellformed.js';

describe('the Thing Template tpx needs', () => {
  it('has exactly the property names the bridge uses', () => {
    expect(TEMPLATE_PROPERTIES.map((p) => p.name)).toEqual([
      'uplinkData',
      'downlink',
      'DevEUI',
      'lastUplinkTime',
      'FPort',
      'FCntUp',
      'payloadHex',
      'RSSI',
      'SNR',
      'spreadingFactor',
      'downlinkStatus',
    ]);
    expect(Object.values(TEMPLATE_PROPERTY_NAMES).sort()).toEqual(TEMPLATE_PROPERTIES.map((p) => p.name).sort());
    const up = TEMPLATE_PROPERTIES.find((p) => p.name === 'uplinkData')!;
    const down = TEMPLATE_PROPERTIES.find((p) => p.name === 'downlink')!;
    expect(up).toMatchObject({ baseType: 'JSON', logged: true });
    expect(down).toMatchObject({ baseType: 'JSON', remote: true, readOnly: false });
  });

  it('compareTemplate finds missing and mistyped properties', () => {
    const cmp = compareTemplate([
      { name: 'uplinkData', baseType: 'JSON' },
      { name: 'RSSI', baseType: 'STRING' },
    ]);
    expect(cmp.present).toEqual(['uplinkData']);
    expect(cmp.wrongType).toEqual([{ name: 'RSSI', expected: 'NUMBER', actual: 'STRING' }]);
    expect(cmp.missing.map((p) => p.name)).not.toContain('uplinkData');
    expect(cmp.missing).toHaveLength(TEMPLATE_PROPERTIES.length - 2);
  });
});

describe('--export xml', () => {
  it('is well-formed XML with one ThingTemplate on RemoteThing and every property', () => {
    const root = parseXml(templateXml({ template: 'my"Template<&>' }));
    expect(root.name).toBe('Entities');
    const [tt] = findAll(root, 'ThingTemplate');
    expect(tt!.attrs.name).toBe('my&quot;Template&lt;&amp;&gt;');
    expect(tt!.attrs.baseThingTemplate).toBe('RemoteThing');
    const defs = findAll(root, 'PropertyDefinition');
    expect(defs.map((d) => d.attrs.name)).toEqual(TEMPLATE_PROPERTIES.map((p) => p.name));
    expect(defs.find((d) => d.attrs.name === 'uplinkData')!.attrs['aspect.isLogged']).toBe('true');
    expect(defs.find((d) => d.attrs.name === 'downlink')!.attrs['aspect.isReadOnly']).toBe('false');
    const bindings = findAll(root, 'RemotePropertyBinding').map((b) => b.attrs.name);
    expect(bindings).toContain('downlink');
  });

  it('the checker itself rejects broken XML', () => {
    expect(() => parseXml('<a><b></a>')).toThrow(/not well-formed/);
    expect(() => parseXml('<a x="1" x="2"/>')).toThrow(/duplicate/);
    expect(() => parseXml('<a x="<"/>')).toThrow(/not well-formed/);
    expect(() => parseXml('<a>&bogus;</a>')).toThrow(/bad entity/);
    expect(xmlEscape('a<b&"c\'')).toBe('a&lt;b&amp;&quot;c&apos;');
  });
});

describe('import-template against the emulator', () => {
  let emu: ThingWorxEmulator | undefined;
  afterEach(async () => {
    await emu?.close();
    emu = undefined;
  });

  async function start(state: ReturnType<typeof fullySetUp>) {
    emu = await startThingWorxEmulator({ state });
    return new ThingWorxRest({ url: emu.restUrl, appKey: CONNECTOR_KEY, ca: readFileSync(emu.caFile) });
  }

  it('creates the template with every property, and a second run changes nothing', async () => {
    const rest = await start(exampleState('missing-template'));
    const plan = await planTemplateImport(rest, DEFAULT_TEMPLATE_NAME);
    expect(plan.exists).toBe(false);
    expect(plan.steps[0]).toEqual({ action: 'create-template', template: DEFAULT_TEMPLATE_NAME, base: 'RemoteThing' });
    await applyTemplatePlan(rest, plan);
    const before = JSON.stringify(emu!.state().templates);
    const again = await planTemplateImport(rest, DEFAULT_TEMPLATE_NAME);
    expect(again).toMatchObject({ exists: true, base: 'RemoteThing', steps: [], wrongType: [], wrongBase: false });
    expect(again.present).toEqual(TEMPLATE_PROPERTIES.map((p) => p.name));
    expect(await applyTemplatePlan(rest, again)).toEqual([]);
    expect(JSON.stringify(emu!.state().templates)).toBe(before);
    const tt = emu!.state().templates!.find((t) => t.name === DEFAULT_TEMPLATE_NAME)!;
    expect(tt.properties!.find((p) => p.name === 'downlink')).toMatchObject({ isRemote: true, baseType: 'JSON' });
    expect(tt.properties!.find((p) => p.name === 'uplinkData')).toMatchObject({ isLogged: true });
    await rest.close();
  });

  it('adds only the missing property to an existing template', async () => {
    const rest = await start(exampleState('template-missing-property'));
    const plan = await planTemplateImport(rest, DEFAULT_TEMPLATE_NAME);
    expect(plan.steps).toEqual([
      { action: 'add-property', template: DEFAULT_TEMPLATE_NAME, property: 'downlink', baseType: 'JSON' },
    ]);
    await applyTemplatePlan(rest, plan);
    expect((await planTemplateImport(rest, DEFAULT_TEMPLATE_NAME)).steps).toEqual([]);
    await rest.close();
  });

  it('a key without CreateThingTemplate gets the platform text and the fix', async () => {
    const state = exampleState('no-create-thing-template');
    state.templates = [];
    const rest = await start(state);
    const plan = await planTemplateImport(rest, DEFAULT_TEMPLATE_NAME);
    await expect(applyTemplatePlan(rest, plan)).rejects.toMatchObject({
      code: 'TPX_TWX_SERVICE_DENIED',
      fix: /add CreateThingTemplate/,
    });
    expect(emu!.state().templates ?? []).toEqual([]);
    await rest.close();
  });
});
