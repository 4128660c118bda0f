/** JSON shapes of the ThingWorx REST API (research/thingworx-rest.md §1.5) used by the REST client. */

export interface FieldDefinitionJson {
  name: string;
  baseType: string;
  description?: string;
  ordinal?: number;
  aspects?: Record<string, unknown>;
}

/** An infotable as ThingWorx writes it in JSON: rows are objects keyed by field name. */
export interface InfoTableJson<Row = Record<string, unknown>> {
  dataShape?: { fieldDefinitions: Record<string, FieldDefinitionJson> };
  rows: Row[];
}

/** A row of GetEntityList (data shape RootEntityList). */
export interface EntityListRow {
  name: string;
  description?: string;
  isSystemObject?: boolean;
  tags?: unknown;
  [field: string]: unknown;
}

export interface ThingTemplateInfo {
  name: string;
  /** The base template (e.g. RemoteThing), when the platform says. */
  baseThingTemplate: string | undefined;
  description: string | undefined;
  raw: Record<string, unknown>;
}

/** A property definition read back from a template. */
export interface PropertyDefinition {
  name: string;
  baseType: string;
  description?: string;
  isLogged?: boolean;
  isRemote?: boolean;
  isReadOnly?: boolean;
  isPersistent?: boolean;
}

/** The inputs of the AddPropertyDefinition service (thingworx-rest.md §3.2). */
export interface PropertyDefinitionInput {
  name: string;
  type: string;
  description?: string;
  category?: string;
  defaultValue?: string;
  readOnly?: boolean;
  persistent?: boolean;
  logged?: boolean;
  dataChangeType?: 'ALWAYS' | 'NEVER' | 'ON' | 'OFF' | 'VALUE';
  remote?: boolean;
  remotePropertyName?: string;
  pushType?: 'ALWAYS' | 'VALUE' | 'NEVER';
  pushThreshold?: number;
  timeout?: number;
  remoteBindingAspects?: Record<string, unknown>;
}

function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

function one(row: Record<string, unknown>, fallbackName?: string): PropertyDefinition | undefined {
  const aspects = (row.aspects && typeof row.aspects === 'object' ? row.aspects : {}) as Record<string, unknown>;
  const pick = (k: string) => bool(row[k] ?? aspects[k]);
  const name = String(row.name ?? fallbackName ?? '');
  if (!name) return undefined;
  const def: PropertyDefinition = { name, baseType: String(row.baseType ?? row.type ?? '') };
  if (typeof row.description === 'string') def.description = row.description;
  const fields: [keyof PropertyDefinition, string[]][] = [
    ['isLogged', ['isLogged', 'logged']],
    ['isRemote', ['isRemote', 'remote']],
    ['isReadOnly', ['isReadOnly', 'readOnly']],
    ['isPersistent', ['isPersistent', 'persistent']],
  ];
  for (const [key, names] of fields) {
    for (const n of names) {
      const v = pick(n);
      if (v !== undefined) {
        (def as unknown as Record<string, unknown>)[key] = v;
        break;
      }
    }
  }
  return def;
}

/** Reads property definitions from an infotable (rows) or from an entity map ({ name: definition }). */
export function parsePropertyDefinitions(json: unknown): PropertyDefinition[] {
  if (!json || typeof json !== 'object') return [];
  const rows = (json as InfoTableJson).rows;
  const out: PropertyDefinition[] = [];
  if (Array.isArray(rows)) {
    for (const r of rows) {
      const d = r && typeof r === 'object' ? one(r as Record<string, unknown>) : undefined;
      if (d) out.push(d);
    }
    return out;
  }
  for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
    if (v && typeof v === 'object') {
      const d = one(v as Record<string, unknown>, k);
      if (d) out.push(d);
    }
  }
  return out;
}
