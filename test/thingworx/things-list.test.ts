/** listThings / showThing in-process against the emulator, including the fallback for platforms without QueryImplementingThings. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { ThingWorxError } from '../../src/thingworx/errors.js';
import { ThingWorxRest } from '../../src/thingworx/rest.js';
import { listThings, showThing, type ThingsClient } from '../../src/thingworx/things.js';

let emu: ThingWorxEmulator;
let rest: ThingWorxRest;
const mine = ['0018B20000000003', '0018B20000000001', '0018B2000000000A', '0018B20000000002'];

beforeAll(async () => {
  emu = await startThingWorxEmulator({
    port: 0,
    state: {
      templates: [
        {
          name: 'tt',
          base: 'RemoteThing',
          properties: [
            { name: 'uplinkData', baseType: 'JSON', isLogged: true },
            { name: 'lastUplinkTime', baseType: 'DATETIME' },
          ],
        },
        { name: 'other', base: 'RemoteThing' },
      ],
      things: [
        ...mine.map((name) => ({
          name,
          template: 'tt',
          ...(name === '0018B20000000001'
            ? { values: { lastUplinkTime: { value: Date.parse('2026-11-25T10:00:00Z') } } }
            : {}),
        })),
        { name: '0018B20000000000', template: 'other' },
        { name: 'NotADevEui', template: 'tt' },
      ],
    },
  });
  rest = new ThingWorxRest({ url: emu.restUrl, appKey: emu.appKey, ca: readFileSync(emu.caFile) });
});

afterAll(async () => {
  await rest?.close();
  await emu?.close();
});

/** The same platform without QueryImplementingThingsOptimizedWithTotalCount (as the platform answers). */
function withoutQueryService(): ThingsClient {
  return {
    service: async (entity, service, params, opts) => {
      if (service === 'QueryImplementingThingsOptimizedWithTotalCount') {
        throw new ThingWorxError('TPX_TWX_NOT_FOUND', 'not found', {
          status: 404,
          platformText: `Service Not Found : [${service}] on ${entity.split('/')[1]}`,
        });
      }
      return rest.service(entity, service, params, opts);
    },
    call: (method, path, body, opts) => rest.call(method, path, body, opts),
    getProperties: (t) => rest.getProperties(t),
    getEntityList: (type, o) => rest.getEntityList(type, o),
    queryPropertyHistory: (t, o) => rest.queryPropertyHistory(t, o),
  };
}

/** The same platform, ignoring the propertyNames input of the template service. */
function ignoringPropertyNames(): ThingsClient {
  return {
    ...withoutQueryService(),
    service: async (entity, service, params, opts) => {
      const it = await rest.service(entity, service, params, opts);
      if (service !== 'QueryImplementingThingsOptimizedWithTotalCount') return it;
      const list = it.rows[0]!.rootEntityList as { rows: Record<string, unknown>[] };
      list.rows = list.rows.map(({ name, description }) => ({ name, description }));
      return it;
    },
  };
}

describe('listThings', () => {
  it('pages with the total count from the template service', async () => {
    const first = await listThings(rest, { template: 'tt', maxItems: 2 });
    expect(first).toMatchObject({ source: 'QueryImplementingThingsOptimizedWithTotalCount', total: 5, nextOffset: 2 });
    expect(first.things.map((t) => t.name)).toEqual(['0018B20000000001', '0018B20000000002']);
    expect(first.things[0]).toEqual({
      name: '0018B20000000001',
      isConnected: false,
      lastUplinkTime: '2026-11-25T10:00:00.000Z',
    });
    const last = await listThings(rest, { template: 'tt', offset: 4, maxItems: 2 });
    expect(last.things.map((t) => t.name)).toEqual(['NotADevEui']);
    expect(last.nextOffset).toBeUndefined();
  });

  it('reads each Thing when the platform ignores propertyNames', async () => {
    const page = await listThings(ignoringPropertyNames(), { template: 'tt', maxItems: 1 });
    expect(page.things).toEqual([
      { name: '0018B20000000001', isConnected: false, lastUplinkTime: '2026-11-25T10:00:00.000Z' },
    ]);
    const direct = await listThings(rest, { template: 'tt', maxItems: 1 });
    expect(direct.things).toEqual(page.things);
  });

  it('without that service, scans DevEUI-named Things and keeps those of the template, paged', async () => {
    const c = withoutQueryService();
    const first = await listThings(c, { template: 'tt', maxItems: 3 });
    expect(first.source).toBe('GetEntityList');
    expect(first.total).toBeUndefined();
    expect(first.things.map((t) => t.name)).toEqual(['0018B20000000001', '0018B20000000002', '0018B20000000003']);
    const second = await listThings(c, { template: 'tt', offset: first.nextOffset, maxItems: 3 });
    expect(second.things.map((t) => t.name)).toEqual(['0018B2000000000A']);
    expect(second.nextOffset).toBeUndefined();
  });

  it('a missing template is said so, not an empty list', async () => {
    await expect(listThings(rest, { template: 'nope' })).rejects.toMatchObject({
      code: 'TPX_TEMPLATE_NOT_FOUND',
      message: expect.stringContaining('Thing Template nope not found'),
    });
  });
});

describe('showThing', () => {
  it('reads all properties; no uplink yet is no uplink, not an error', async () => {
    const d = await showThing(rest, '0018B20000000001');
    expect(d).toMatchObject({ name: '0018B20000000001', template: 'tt', isConnected: false });
    expect(d.uplink).toBeUndefined();
    expect(Object.keys(d.properties)).toContain('thingTemplate');
    expect(d.propertyTypes).toMatchObject({ uplinkData: 'JSON', lastUplinkTime: 'DATETIME', isConnected: 'BOOLEAN' });
    expect(d.lastUplinkTime).toBe('2026-11-25T10:00:00.000Z');
  });
});
