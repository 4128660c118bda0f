/**
 * Check items decided over REST: the app key and its user, the key's expiry, the three EntityServices rights
 * with the collections' design-time Create (permission services where the user may call them, else probes),
 * and the Thing Template with the properties tpx needs.
 */
import type { Phrase } from '../errors.js';
import { attempt, say, text } from './check-failure.js';
import { type CheckItem, item } from './check-types.js';
import { ThingWorxError } from './errors.js';
import { FIX } from './fixes.js';
import type { ThingWorxRest } from './rest.js';
import { TEMPLATE_BASE } from './template.js';
import { planTemplateImport } from './template-import.js';

const ES = 'Resources/EntityServices';
const CSI = 'Resources/CurrentSessionInfo';

/** What the permission services said: true/false, or undefined when the user may not call them. */
interface Known {
  runTime: Record<string, boolean | undefined>;
  designTime: Record<string, boolean | undefined>;
  /** EntityServices is invisible to the user (the reference document's error). */
  invisible?: ThingWorxError;
}

async function permissionServices(rest: ThingWorxRest): Promise<Known> {
  const known: Known = { runTime: {}, designTime: {} };
  for (const svc of ['GetEntityList', 'CreateThing', 'CreateThingTemplate']) {
    const r = await attempt(() => rest.serviceResult(ES, 'CheckPermission', { name: svc, type: 'ServiceInvoke' }));
    if (r.ok) known.runTime[svc] = r.value === true || r.value === 'true';
    else if (r.error.code === 'TPX_TWX_NO_VISIBILITY') {
      known.invisible = r.error;
      break;
    } else break; // not allowed to ask: probes decide
  }
  const dt = await attempt(() => rest.service(CSI, 'GetDesignTimeCollectionPermissions'));
  if (dt.ok) {
    for (const [collection, names] of [
      ['Things', ['things', 'thing']],
      ['ThingTemplates', ['thingtemplates', 'thingtemplate', 'thing templates']],
    ] as const) {
      const rows = dt.value.rows.filter(
        (r) =>
          (names as readonly string[]).includes(String(r.name ?? r.collectionName ?? '').toLowerCase()) &&
          String(r.permissionName ?? r.type ?? '').toLowerCase() === 'create',
      );
      if (rows.length > 0)
        known.designTime[collection] = rows.some((r) => r.isPermitted === true || r.isPermitted === 'true');
    }
  }
  return known;
}

export interface PermissionResult {
  items: CheckItem[];
  /** The probe Thing created with writeProbe (the caller binds it, then deletes it). */
  probeThing?: string;
}

export async function checkPermissions(
  rest: ThingWorxRest,
  o: { template: string; writeProbe: boolean; suffix: string; templateExists: () => Promise<boolean> },
): Promise<PermissionResult> {
  const known = await permissionServices(rest);
  if (known.invisible) {
    // The probe gives the reference document's exact text (uri = …/GetEntityList/).
    const probe = await attempt(() => rest.getEntityList('ThingTemplate', { nameMask: o.template, maxItems: 1 }));
    const e = probe.ok ? known.invisible : probe.error;
    const detail = `EntityServices is not visible to the key's user. ${text(e) || say(e)}`;
    return {
      items: ['get-entity-list', 'create-thing', 'create-thing-template'].map((id) =>
        item(id as 'create-thing', 'failed', detail, { fix: FIX.entityServicesVisibility, method: 'CheckPermission' }),
      ),
    };
  }
  const items: CheckItem[] = [];
  // GetEntityList: the probe is the real, side-effect-free call.
  if (known.runTime.GetEntityList === false) {
    items.push(
      item('get-entity-list', 'failed', 'CheckPermission says the user may not execute GetEntityList.', {
        fix: FIX.entityServicesRunTime(['GetEntityList']),
        method: 'CheckPermission',
      }),
    );
  } else {
    const r = await attempt(() => rest.getEntityList('ThingTemplate', { nameMask: o.template, maxItems: 1 }));
    items.push(
      r.ok
        ? item('get-entity-list', 'passed', 'GetEntityList answered.', { method: 'probe' })
        : item('get-entity-list', 'failed', say(r.error), {
            fix: r.error.fix,
            method: 'probe',
          }),
    );
  }
  const probeThing = `tpx-probe-${o.suffix}`;
  let created: string | undefined;
  const thingTemplate = (await o.templateExists()) ? o.template : TEMPLATE_BASE;
  items.push(
    await createCheck(known, {
      id: 'create-thing',
      service: 'CreateThing',
      collection: 'Things',
      writeProbe: o.writeProbe,
      write: async () => {
        await rest.createThing(probeThing, thingTemplate, 'tpx thingworx check probe (deleted at the end)');
        created = probeThing;
        await rest.enableThing(probeThing).catch(() => undefined);
        await rest.restartThing(probeThing).catch(() => undefined);
        return `created ${probeThing} (template ${thingTemplate}; deleted at the end)`;
      },
      dry: () => rest.createThing(probeThing, `tpx-probe-missing-${o.suffix}`),
      undoDry: () => deleteThing(rest, probeThing),
    }),
  );
  const probeTemplate = `tpx-probe-tt-${o.suffix}`;
  items.push(
    await createCheck(known, {
      id: 'create-thing-template',
      service: 'CreateThingTemplate',
      collection: 'ThingTemplates',
      writeProbe: o.writeProbe,
      write: async () => {
        await rest.createThingTemplate(probeTemplate, TEMPLATE_BASE, 'tpx thingworx check probe');
        const del = await attempt(() => rest.deleteThingTemplate(probeTemplate));
        if (!del.ok) throw leftBehind(probeTemplate, del.error);
        return `created and deleted ${probeTemplate}`;
      },
      dry: () => rest.createThingTemplate(probeTemplate, `tpx-probe-missing-${o.suffix}`),
      undoDry: () => rest.deleteThingTemplate(probeTemplate),
    }),
  );
  return { items, ...(created ? { probeThing: created } : {}) };
}

class LeftBehind extends Error {}
function leftBehind(name: string, e: ThingWorxError): LeftBehind {
  return new LeftBehind(`created ${name} but could not delete it (${e.message}): delete it in Composer.`);
}

/** Deletes a Thing: DELETE /Things/<name>, else EntityServices.DeleteThing. */
export async function deleteThing(rest: ThingWorxRest, name: string): Promise<void> {
  const r = await attempt(() => rest.deleteThing(name));
  if (r.ok) return;
  await rest.service(ES, 'DeleteThing', { name });
}

interface CreateSpec {
  id: 'create-thing' | 'create-thing-template';
  service: string;
  collection: 'Things' | 'ThingTemplates';
  writeProbe: boolean;
  write: () => Promise<string>;
  dry: () => Promise<void>;
  undoDry: () => Promise<void>;
}

async function createCheck(known: Known, s: CreateSpec): Promise<CheckItem> {
  const runTime = known.runTime[s.service];
  const designTime = known.designTime[s.collection];
  const collectionLabel = s.collection === 'Things' ? 'Things' : 'Thing Templates';
  if (runTime === false) {
    return item(s.id, 'failed', `CheckPermission says the user may not execute ${s.service}.`, {
      fix: FIX.entityServicesRunTime([s.service]),
      method: 'CheckPermission',
    });
  }
  if (designTime === false) {
    return item(s.id, 'failed', `The user lacks design-time Create on the ${collectionLabel} collection.`, {
      fix: FIX.collectionsDesignTime,
      method: 'GetDesignTimeCollectionPermissions',
    });
  }
  if (s.writeProbe) {
    try {
      const what = await s.write();
      return item(s.id, 'passed', `Probe ${what}.`, { method: 'write probe' });
    } catch (err) {
      if (err instanceof LeftBehind) return item(s.id, 'warned', `Probe ${err.message}`, { method: 'write probe' });
      if (!(err instanceof ThingWorxError)) throw err;
      return failedCreate(s, err, 'write probe');
    }
  }
  if (runTime === true && designTime === true) {
    return item(s.id, 'passed', `${s.service} allowed and Create on ${collectionLabel} granted.`, {
      method: 'permission services',
    });
  }
  // Dry probe: a create that must fail on its missing base template, after the permission checks.
  const r = await attempt(s.dry);
  if (r.ok) {
    await s.undoDry().catch(() => undefined);
    return item(s.id, 'passed', `${s.service} allowed (probe).`, { method: 'probe' });
  }
  const e = r.error;
  if (
    e.code === 'TPX_TWX_NOT_FOUND' ||
    (e.code === 'TPX_TWX_SERVICE_FAILED' && /not found|does not exist/i.test(e.platformText))
  ) {
    if (designTime === true) {
      return item(s.id, 'passed', `${s.service} allowed (probe) and Create on ${collectionLabel} granted.`, {
        method: 'probe + GetDesignTimeCollectionPermissions',
      });
    }
    return item(
      s.id,
      'warned',
      `${s.service} may be executed (probe); design-time Create on ${collectionLabel} could not be verified.`,
      {
        fix: [{ id: 'write-probe', what: 'create' }, FIX.collectionsDesignTime],
        method: 'probe',
      },
    );
  }
  return failedCreate(s, e, 'probe');
}

function failedCreate(s: CreateSpec, e: ThingWorxError, method: string): CheckItem {
  const fix: Phrase | undefined =
    e.code === 'TPX_TWX_SERVICE_DENIED'
      ? FIX.entityServicesRunTime([s.service])
      : e.code === 'TPX_TWX_DESIGN_TIME_DENIED'
        ? FIX.collectionsDesignTime
        : e.code === 'TPX_TWX_NO_VISIBILITY'
          ? FIX.entityServicesVisibility
          : e.fix;
  return item(s.id, 'failed', say(e), { ...(fix ? { fix } : {}), method });
}

export async function checkTemplate(rest: ThingWorxRest, template: string): Promise<CheckItem> {
  const r = await attempt(() => planTemplateImport(rest, template));
  if (!r.ok) {
    return item('template', 'failed', `Cannot read Thing Template ${template}: ${r.error.message}`, {
      fix: r.error.fix,
    });
  }
  const plan = r.value;
  const data = { template, base: plan.base, present: plan.present };
  if (!plan.exists) {
    return item('template', 'failed', `Thing Template ${template} not found (missing, or not visible to the user).`, {
      fix: [FIX.template(template), `If it exists, ${FIX.collectionsVisibility.replace(/^In/, 'in')}`],
      data,
    });
  }
  if (plan.wrongBase) {
    return item(
      'template',
      'failed',
      `${template} is based on ${plan.base}, not ${TEMPLATE_BASE}: its Things cannot be bound.`,
      {
        fix: { id: 'template-base', base: TEMPLATE_BASE },
        data,
      },
    );
  }
  const missing = plan.steps.flatMap((s) => (s.action === 'add-property' ? [s.property] : []));
  if (missing.length > 0) {
    return item(
      'template',
      'failed',
      `${template} lacks the propert${missing.length === 1 ? 'y' : 'ies'} ${missing.join(', ')}.`,
      {
        fix: { id: 'template-add-properties', template },
        data: { ...data, missing },
      },
    );
  }
  if (plan.wrongType.length > 0) {
    const w = plan.wrongType.map((x) => `${x.name} is ${x.actual}, not ${x.expected}`).join('; ');
    return item('template', 'failed', `${template}: ${w}.`, {
      fix: [
        'In Composer, change those properties to the base type tpx needs, or delete them and add them again:',
        { id: 'template-add-properties', template },
      ],
      data: { ...data, wrongType: plan.wrongType },
    });
  }
  return item(
    'template',
    'passed',
    `${template} (base ${plan.base ?? TEMPLATE_BASE}) has all ${plan.present.length} properties.`,
    {
      data,
    },
  );
}
