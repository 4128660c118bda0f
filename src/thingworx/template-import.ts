/**
 * `tpx thingworx import-template`: plan (compare what exists with what tpx needs) and apply (create the template
 * when missing, add only the missing properties). Idempotent: a second run finds nothing to do.
 */
import type { ThingWorxRest } from './rest.js';
import {
  addPropertyInput,
  compareTemplate,
  TEMPLATE_BASE,
  TEMPLATE_DESCRIPTION,
  TEMPLATE_PROPERTIES,
  type TemplateProperty,
} from './template.js';

export type TemplateStep =
  | { action: 'create-template'; template: string; base: string }
  | { action: 'add-property'; template: string; property: string; baseType: string };

export interface TemplatePlan {
  template: string;
  exists: boolean;
  /** The existing template's base, when known. */
  base: string | undefined;
  steps: TemplateStep[];
  present: string[];
  wrongType: { name: string; expected: string; actual: string }[];
  /** The base is known and is not RemoteThing (Things of it cannot be bound). */
  wrongBase: boolean;
}

export async function planTemplateImport(rest: ThingWorxRest, template: string): Promise<TemplatePlan> {
  const info = await rest.getThingTemplate(template);
  if (!info) {
    return {
      template,
      exists: false,
      base: undefined,
      steps: [
        { action: 'create-template', template, base: TEMPLATE_BASE },
        ...TEMPLATE_PROPERTIES.map((p) => addStep(template, p)),
      ],
      present: [],
      wrongType: [],
      wrongBase: false,
    };
  }
  const cmp = compareTemplate(await rest.getPropertyDefinitions(template));
  return {
    template,
    exists: true,
    base: info.baseThingTemplate,
    steps: cmp.missing.map((p) => addStep(template, p)),
    present: cmp.present,
    wrongType: cmp.wrongType,
    wrongBase: info.baseThingTemplate !== undefined && !/^RemoteThing/.test(info.baseThingTemplate),
  };
}

function addStep(template: string, p: TemplateProperty): TemplateStep {
  return { action: 'add-property', template, property: p.name, baseType: p.baseType };
}

/**
 * Runs the plan's steps in order; stops at the first failure (a ThingWorxError). Returns the steps done.
 */
export async function applyTemplatePlan(rest: ThingWorxRest, plan: TemplatePlan): Promise<TemplateStep[]> {
  const done: TemplateStep[] = [];
  for (const step of plan.steps) {
    if (step.action === 'create-template') {
      await rest.createThingTemplate(step.template, step.base, TEMPLATE_DESCRIPTION);
    } else {
      const prop = TEMPLATE_PROPERTIES.find((p) => p.name === step.property);
      if (prop) await rest.addPropertyDefinition(step.template, addPropertyInput(prop));
    }
    done.push(step);
  }
  return done;
}
