// The code paths a bridge with 100,000 Things takes, at a scale a test can afford: listing over many pages (small
// pages, several in flight), the emulator's sorted listing while Things come and go, its total count.
// Figures (how long 100,000 take) are in bench/things.bench.js, never here.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { RestDirectory } from '../../src/bridge/index.js';
import { startThingWorxEmulator, type ThingWorxEmulator } from '../../src/emulators/thingworx/index.js';
import { ThingWorxRest } from '../../src/thingworx/rest.js';
import { TEMPLATE, templateState } from './emulated.js';

const devEui = (i: number) => `70B3D57E${i.toString(16).toUpperCase().padStart(8, '0')}`;

describe('listing many Things', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(count: number): Promise<{ twx: ThingWorxEmulator; rest: ThingWorxRest; names: string[] }> {
    // added in reverse so that the emulator has to sort them
    const names = Array.from({ length: count }, (_, i) => devEui(i));
    const twx = await startThingWorxEmulator({ state: templateState() });
    cleanups.push(() => twx.close());
    twx.addThings([...names].reverse(), TEMPLATE);
    twx.addThings(['AAA-NOT-OF-THE-TEMPLATE'], 'RemoteThing');
    const rest = new ThingWorxRest({ url: twx.restUrl, appKey: twx.appKey, ca: readFileSync(twx.caFile, 'utf8') });
    cleanups.push(() => rest.close());
    return { twx, rest, names };
  }

  it.each([
    // [Things, page size, pages in flight, pages counted]
    [2503, 25, 4, 101],
    [2500, 25, 4, 101], // a multiple of the page size: the empty page after the last full one ends the list
    [2500, 25, 1, 101],
    [2500, 25, 7, 101],
    [24, 25, 4, 1],
    [0, 25, 4, 1],
  ])('%i Things in pages of %i, %i in flight: every name once, in order', async (count, size, inFlight, pages) => {
    const { rest, names } = await setup(count);
    const r = await new RestDirectory(rest, size, inFlight).list(TEMPLATE);
    expect(r.names).toEqual(names);
    expect(r.pages).toBe(pages);
  });

  it('the listing follows Things created and deleted between two listings (sorted list kept up to date)', async () => {
    const { rest, names } = await setup(300);
    const dir = new RestDirectory(rest, 50, 3);
    expect((await dir.list(TEMPLATE)).names).toEqual(names);
    await dir.create(devEui(1000), TEMPLATE);
    await rest.deleteThing(devEui(5));
    await rest.deleteThing(devEui(6));
    const want = [...names.filter((n) => n !== devEui(5) && n !== devEui(6)), devEui(1000)].sort();
    expect((await dir.list(TEMPLATE)).names).toEqual(want);
  });

  it("the emulator's total count covers every Thing of the template, whatever page is asked", async () => {
    const { rest, names } = await setup(1234);
    const it = await rest.service(`ThingTemplates/${TEMPLATE}`, 'QueryImplementingThingsOptimizedWithTotalCount', {
      maxItems: 10,
      offset: 1200,
    });
    const row = it.rows[0] as { totalCount: number; rootEntityList: { rows: { name: string }[] } };
    expect(row.totalCount).toBe(1234);
    expect(row.rootEntityList.rows.map((r) => r.name)).toEqual(names.slice(1200, 1210));
    const tail = await rest.service(`ThingTemplates/${TEMPLATE}`, 'QueryImplementingThingsOptimized', {
      maxItems: 10,
      offset: 1230,
    });
    expect(tail.rows.map((r) => r.name)).toEqual(names.slice(1230));
  });
});
