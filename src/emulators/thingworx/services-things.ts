/** Services of Things and ThingTemplates (research/thingworx-rest.md §3). */

import { type InfoTableJson, infoTable, resultTable } from './json-values.js';
import { isBaseType, type PropertyDef, propertyDef, type Thing } from './model.js';
import { errors, PlatformError } from './permissions.js';
import type { Caller, Params, Platform, Service, VTQ } from './platform.js';
import type { PropertyDefinitionState } from './state.js';

function bool(v: unknown, dflt = false): boolean {
  if (v === undefined || v === null || v === '') return dflt;
  return v === true || v === 'true' || v === 1;
}

function num(v: unknown, dflt = 0): number {
  const n = Number(v);
  return v === undefined || v === null || v === '' || Number.isNaN(n) ? dflt : n;
}

function str(v: unknown): string | undefined {
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

/** Reads AddPropertyDefinition params (name, type, logged, remote, ...) or a PropertyDefinitionWithDetails row. */
export function definitionFromParams(p: Params): PropertyDefinitionState {
  const name = str(p.name);
  const type = str(p.type ?? p.baseType)?.toUpperCase();
  if (!name) throw errors.badRequest('Parameter [name] is required');
  if (!type || !isBaseType(type)) throw errors.badRequest(`Invalid base type [${String(p.type ?? p.baseType)}]`);
  const remote = bool(p.remote ?? p.isRemote);
  return {
    name,
    baseType: type,
    description: str(p.description),
    category: str(p.category),
    isLogged: bool(p.logged ?? p.isLogged),
    isPersistent: bool(p.persistent ?? p.isPersistent),
    isReadOnly: bool(p.readOnly ?? p.isReadOnly),
    isRemote: remote,
    remotePropertyName: remote ? (str(p.remotePropertyName) ?? name) : undefined,
    pushType: remote ? (str(p.pushType) ?? 'VALUE') : undefined,
    pushThreshold: remote ? num(p.pushThreshold) : undefined,
    dataChangeType: str(p.dataChangeType),
    dataChangeThreshold: p.dataChangeThreshold === undefined ? undefined : num(p.dataChangeThreshold),
    defaultValue: p.defaultValue === '' ? undefined : (p.defaultValue ?? undefined),
    dataShape: str(p.dataShape),
    timeout: p.timeout === undefined ? undefined : num(p.timeout),
  };
}

export function definitionsTable(defs: Iterable<PropertyDef>): InfoTableJson {
  const rows = [...defs].map((d, ordinal) => ({
    name: d.name,
    description: d.description,
    baseType: d.baseType,
    category: d.category,
    ordinal,
    isLogged: d.isLogged,
    isPersistent: d.isPersistent,
    isReadOnly: d.isReadOnly,
    isRemote: d.isRemote,
    remotePropertyName: d.remotePropertyName,
    pushType: d.pushType,
    pushThreshold: d.pushThreshold,
    dataChangeType: d.dataChangeType,
    dataChangeThreshold: d.dataChangeThreshold,
    ...(d.defaultValue !== undefined ? { defaultValue: String(d.defaultValue) } : {}),
    aspects: {
      isLogged: d.isLogged,
      isPersistent: d.isPersistent,
      isReadOnly: d.isReadOnly,
      ...(d.isRemote ? { isRemote: true } : {}),
      dataChangeType: d.dataChangeType,
      ...(d.dataShape ? { dataShape: d.dataShape } : {}),
    },
  }));
  return infoTable(
    [
      ['name', 'STRING'],
      ['description', 'STRING'],
      ['baseType', 'BASETYPENAME'],
      ['category', 'STRING'],
      ['ordinal', 'INTEGER'],
      ['isLogged', 'BOOLEAN'],
      ['isPersistent', 'BOOLEAN'],
      ['isReadOnly', 'BOOLEAN'],
      ['isRemote', 'BOOLEAN'],
      ['remotePropertyName', 'STRING'],
      ['pushType', 'STRING'],
      ['pushThreshold', 'NUMBER'],
      ['dataChangeType', 'STRING'],
      ['dataChangeThreshold', 'NUMBER'],
      ['defaultValue', 'STRING'],
      ['aspects', 'JSON'],
    ],
    rows,
  );
}

function requireUpdate(p: Platform, caller: Caller, collection: string, name: string): void {
  if (!p.access.designTime(caller.user, collection, 'Update', name, p.owner(collection, name)))
    throw errors.notAuthorizedDesignTime('Update', collection);
}

function addDefinitions(
  p: Platform,
  caller: Caller,
  collection: 'Things' | 'ThingTemplates',
  entity: string,
  list: Params[],
  ignoreInvalid: boolean,
  service: string,
): InfoTableJson {
  requireUpdate(p, caller, collection, entity);
  const target =
    collection === 'Things'
      ? (() => {
          const t = p.store.things.get(entity)!;
          t.props ??= new Map();
          return t.props;
        })()
      : p.store.templates.get(entity)!.properties;
  const existing =
    collection === 'Things' ? p.store.thingProperties(p.store.things.get(entity)!) : p.store.templateProperties(entity);
  const report: { name: string; success: boolean; errorMessage: string }[] = [];
  for (const item of list) {
    let def: PropertyDefinitionState;
    try {
      def = definitionFromParams(item);
      if (existing.has(def.name)) throw new PlatformError(403, `Property [${def.name}] already exists on ${entity}`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!ignoreInvalid)
        throw errors.invokeFailed(service, entity, message, err instanceof PlatformError ? err.status : 400);
      report.push({ name: String(item.name ?? ''), success: false, errorMessage: message });
      continue;
    }
    target.set(def.name, propertyDef(def));
    report.push({ name: def.name, success: true, errorMessage: '' });
  }
  p.store.templateChanged();
  return infoTable(
    [
      ['name', 'STRING'],
      ['success', 'BOOLEAN'],
      ['errorMessage', 'STRING'],
    ],
    report,
  );
}

function definitionRows(params: Params): Params[] {
  const values = params.values as InfoTableJson | undefined;
  return Array.isArray(values?.rows) ? values.rows : [];
}

function vtqRows(params: Params): VTQ[] {
  return definitionRows(params).map((r) => ({
    name: String(r.name),
    value:
      r.value && typeof r.value === 'object' && 'value' in r.value ? (r.value as { value: unknown }).value : r.value,
    time: typeof r.time === 'number' ? r.time : r.time ? Date.parse(String(r.time)) : undefined,
    quality: r.quality === undefined ? undefined : String(r.quality),
  }));
}

function historyRows(t: Thing, params: Params): InfoTableJson {
  const maxItems = num(params.maxItems, 500);
  const start = params.startDate ? Number(params.startDate) || Date.parse(String(params.startDate)) : -Infinity;
  const end = params.endDate ? Number(params.endDate) || Date.parse(String(params.endDate)) : Infinity;
  // One row per timestamp and property value: values of different properties with the same time share a row, and
  // two values of one property pushed in the same millisecond get a row each (every logged value is kept).
  const byTime = new Map<number, Record<string, unknown>[]>();
  const fields: [string, string][] = [['timestamp', 'DATETIME']];
  for (const [name, list] of t.history ?? []) {
    fields.push([name, 'VARIANT']);
    for (const v of list) {
      if (v.t < start || v.t > end) continue;
      let same = byTime.get(v.t);
      if (!same) {
        same = [];
        byTime.set(v.t, same);
      }
      let row = same.find((r) => !(name in r));
      if (!row) {
        row = { timestamp: v.t };
        same.push(row);
      }
      row[name] = v.v;
    }
  }
  // Oldest first in arrival order (a stable sort), then newest first unless asked otherwise.
  const rows = [...byTime.values()].flat().sort((a, b) => (a.timestamp as number) - (b.timestamp as number));
  if (!bool(params.oldestFirst)) rows.reverse();
  return infoTable(fields, rows.slice(0, maxItems));
}

export const thingServices: Record<string, Service> = {
  EnableThing: (p, c, e) => {
    requireUpdate(p, c, 'Things', e);
    p.store.things.get(e)!.enabled = true;
    return null;
  },
  DisableThing: (p, c, e) => {
    requireUpdate(p, c, 'Things', e);
    p.store.things.get(e)!.enabled = false;
    return null;
  },
  RestartThing: (p, _c, e) => {
    p.events.emit('restart', { thing: e });
    return null;
  },
  AddPropertyDefinition: (p, c, e, params) => {
    addDefinitions(p, c, 'Things', e, [params], false, 'AddPropertyDefinition');
    return null;
  },
  AddPropertyDefinitions: (p, c, e, params) =>
    addDefinitions(
      p,
      c,
      'Things',
      e,
      definitionRows(params),
      bool(params.ignoreInvalidDefinitions),
      'AddPropertyDefinitions',
    ),
  RemovePropertyDefinition: (p, c, e, params) => {
    requireUpdate(p, c, 'Things', e);
    p.store.things.get(e)!.props?.delete(String(params.name));
    return null;
  },
  GetPropertyDefinitions: (p, _c, e) => definitionsTable(p.store.thingProperties(p.store.things.get(e)!).values()),
  GetPropertyValues: (p, c, e) => p.readProperties(c, e),
  UpdatePropertyValues: (p, c, e, params) => {
    const t = p.store.things.get(e)!;
    const { stored } = p.updateValues(t, vtqRows(params));
    p.events.emit('update', { thing: e, values: stored, via: c.via });
    return null;
  },
  UpdateSubscribedPropertyValues: (p, c, e, params) => thingServices.UpdatePropertyValues!(p, c, e, params),
  SetPropertyValues: async (p, c, e, params) => {
    const row = definitionRows(params)[0] ?? {};
    for (const [k, v] of Object.entries(row)) await p.writeProperty(c, e, k, v);
    return null;
  },
  QueryPropertyHistory: (p, _c, e, params) => historyRows(p.store.things.get(e)!, params),
  GetPropertySubscriptions: (p, _c, e) => {
    const rows = [...p.store.thingProperties(p.store.things.get(e)!).values()]
      .filter((d) => d.isRemote)
      .map((d) => ({
        propertyName: d.name,
        edgeName: d.remotePropertyName,
        pushType: d.pushType,
        pushThreshold: d.pushThreshold,
      }));
    return infoTable(
      [
        ['propertyName', 'STRING'],
        ['edgeName', 'STRING'],
        ['pushType', 'STRING'],
        ['pushThreshold', 'NUMBER'],
      ],
      rows,
    );
  },
  IsBound: (p, _c, e) => resultTable('BOOLEAN', p.store.things.get(e)!.boundTo !== null),
};

function implementing(
  p: Platform,
  c: Caller,
  template: string,
  params: Params,
  withTotal = false,
): { rows: Record<string, unknown>[]; total: number } {
  const mask = str(params.nameMask);
  const re = mask ? new RegExp(`^${mask.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`) : null;
  const props = Array.isArray((params.propertyNames as InfoTableJson | undefined)?.rows)
    ? (params.propertyNames as InfoTableJson).rows.map((r) => String(r.name))
    : [];
  // The sorted list is cached by the store; whether a template derives from `template` is asked once per template;
  // without `withTotal` the walk stops at the page's last row (a page costs its offset, not the whole list).
  const derived = new Map<string, boolean>();
  const offset = num(params.offset);
  const maxItems = num(params.maxItems, 500);
  const page: Thing[] = [];
  let total = 0;
  for (const t of p.store.sortedThings()) {
    let d = derived.get(t.template);
    if (d === undefined) {
      d = p.store.isDerivedFrom(t.template, template);
      derived.set(t.template, d);
    }
    if (!d || (re && !re.test(t.name)) || !p.access.canSee(c.user, 'Things', t.name, t.owner)) continue;
    if (total >= offset && page.length < maxItems) page.push(t);
    total += 1;
    if (!withTotal && page.length >= maxItems) break;
  }
  const rows = page.map((t) => {
    const row: Record<string, unknown> = { name: t.name, description: t.description, thingTemplate: t.template };
    for (const n of props) {
      const def = p.store.thingProperty(t, n);
      if (def) row[n] = p.store.currentValue(t, def).v;
    }
    return row;
  });
  return { rows, total };
}

const entityListFields: [string, string][] = [
  ['name', 'STRING'],
  ['description', 'STRING'],
  ['thingTemplate', 'THINGTEMPLATENAME'],
];

export const templateServices: Record<string, Service> = {
  AddPropertyDefinition: (p, c, e, params) => {
    addDefinitions(p, c, 'ThingTemplates', e, [params], false, 'AddPropertyDefinition');
    return null;
  },
  AddPropertyDefinitions: (p, c, e, params) =>
    addDefinitions(
      p,
      c,
      'ThingTemplates',
      e,
      definitionRows(params),
      bool(params.ignoreInvalidDefinitions),
      'AddPropertyDefinitions',
    ),
  RemovePropertyDefinition: (p, c, e, params) => {
    requireUpdate(p, c, 'ThingTemplates', e);
    p.store.templates.get(e)!.properties.delete(String(params.name));
    p.store.templateChanged();
    return null;
  },
  GetPropertyDefinitions: (p, _c, e) => definitionsTable(p.store.templateProperties(e).values()),
  GetBaseThingTemplate: (p, _c, e) => resultTable('THINGTEMPLATENAME', p.store.templates.get(e)!.base || null),
  IsDerivedFromTemplate: (p, _c, e, params) =>
    resultTable('BOOLEAN', p.store.isDerivedFrom(e, String(params.thingTemplateName ?? ''))),
  GetImplementingThings: (p, c, e) => infoTable(entityListFields, implementing(p, c, e, { maxItems: 500 }).rows),
  QueryImplementingThingsOptimized: (p, c, e, params) => {
    const r = implementing(p, c, e, params);
    return infoTable(entityListFields, r.rows);
  },
  QueryImplementingThingsOptimizedWithTotalCount: (p, c, e, params) => {
    const r = implementing(p, c, e, params, true);
    return infoTable(
      [
        ['rootEntityList', 'INFOTABLE'],
        ['totalCount', 'INTEGER'],
      ],
      [{ rootEntityList: infoTable(entityListFields, r.rows), totalCount: r.total }],
    );
  },
};
