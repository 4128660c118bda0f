/**
 * The Thing Template of a driver's devices: derived from the Actility template (so the bridge lists, binds and
 * fills its Things like any other), plus `decodedPayload` and `decodeErrors` (JSON) and one typed, logged, remote
 * property per scalar field of the driver's uplink.schema.json, so value streams, alerts and mashups work without
 * decoding in ThingWorx. Idempotent: a second run adds only what is missing.
 */
import type { ThingWorxRest } from '../thingworx/rest.js';
import type { PropertyDefinitionInput } from '../thingworx/types.js';
import { DRIVER_PROPS, type TypedField } from './schema.js';

export interface DriverTemplatePlan {
  template: string;
  base: string;
  exists: boolean;
  create: boolean;
  add: PropertyDefinitionInput[];
  present: string[];
  wrongType: { name: string; expected: string; actual: string }[];
}

/** `<base>_<driver>`, with characters ThingWorx names do not take replaced by `_`. */
export function driverTemplateName(base: string, driver: string): string {
  return `${base}_${driver}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function prop(name: string, type: string, description: string, logged: boolean): PropertyDefinitionInput {
  return {
    name,
    type,
    description,
    readOnly: true,
    persistent: true,
    logged,
    dataChangeType: 'VALUE',
    remote: true,
    remotePropertyName: name,
    pushType: 'ALWAYS',
  };
}

/** The properties a driver's template adds to the base template. */
export function driverProperties(driver: string, fields: TypedField[]): PropertyDefinitionInput[] {
  return [
    prop(DRIVER_PROPS.decodedPayload, 'JSON', `Latest uplink decoded by driver ${driver}`, true),
    prop(DRIVER_PROPS.decodeErrors, 'JSON', `Errors and warnings of the latest decode (driver ${driver})`, false),
    ...fields.map((f) => prop(f.name, f.baseType, f.description, true)),
  ];
}

export async function planDriverTemplate(
  rest: ThingWorxRest,
  template: string,
  base: string,
  props: PropertyDefinitionInput[],
): Promise<DriverTemplatePlan> {
  const info = await rest.getThingTemplate(template);
  if (!info) return { template, base, exists: false, create: true, add: props, present: [], wrongType: [] };
  const existing = new Map((await rest.getPropertyDefinitions(template)).map((d) => [d.name, d]));
  const plan: DriverTemplatePlan = { template, base, exists: true, create: false, add: [], present: [], wrongType: [] };
  for (const p of props) {
    const d = existing.get(p.name);
    if (!d) plan.add.push(p);
    else if (d.baseType && d.baseType.toUpperCase() !== p.type) {
      plan.wrongType.push({ name: p.name, expected: p.type, actual: d.baseType });
    } else plan.present.push(p.name);
  }
  return plan;
}

/** Creates the template when missing, then adds the missing properties, in order; stops at the first failure. */
export async function applyDriverTemplate(
  rest: ThingWorxRest,
  plan: DriverTemplatePlan,
  driver: string,
): Promise<string[]> {
  const done: string[] = [];
  if (plan.create) {
    await rest.createThingTemplate(plan.template, plan.base, `Devices decoded by payload driver ${driver} (tpx)`);
  }
  for (const p of plan.add) {
    await rest.addPropertyDefinition(plan.template, p);
    done.push(p.name);
  }
  return done;
}
