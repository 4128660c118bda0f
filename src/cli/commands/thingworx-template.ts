/** `tpx thingworx import-template`: create the Actility Thing Template, or add what it lacks; or export it as XML. */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { App } from '../app.js';
import type { CommandContext, GlobalOptions } from '../context.js';
import { say } from '../phrases.js';
import { addThingWorxOptions, resolveThingWorx, type ThingWorxFlags } from './thingworx-check.js';

export interface ImportTemplateFlags extends ThingWorxFlags {
  dryRun?: boolean;
  export?: string;
  output?: string;
  driver?: string;
}

async function runExport(ctx: CommandContext, opts: ImportTemplateFlags & GlobalOptions): Promise<void> {
  if (opts.export !== 'xml') {
    throw new UsageError(`Unknown export format "${opts.export}".`, 'Use --export xml.');
  }
  const { DEFAULT_TEMPLATE_NAME } = await import('../../thingworx/template.js');
  const { templateXml } = await import('../../thingworx/template-xml.js');
  const template = ctx.settings.value('template', opts.template) ?? DEFAULT_TEMPLATE_NAME;
  const xml = templateXml({ template });
  if (opts.output) {
    const { writeFileSync } = await import('node:fs');
    try {
      writeFileSync(opts.output, xml);
    } catch (err) {
      throw new UsageError(
        `Cannot write ${opts.output} (${(err as NodeJS.ErrnoException).code ?? String(err)}).`,
        'Give a writable file with --output.',
      );
    }
    if (ctx.io.json) ctx.io.printJson({ template, format: 'xml', output: opts.output, bytes: Buffer.byteLength(xml) });
    else ctx.io.success(`Wrote ${opts.output}: import it in Composer (Import/Export → Import → From File → Entities).`);
    return;
  }
  if (ctx.io.json) ctx.io.printJson({ template, format: 'xml', xml });
  else ctx.io.out(xml);
}

export async function runImportTemplate(ctx: CommandContext, opts: ImportTemplateFlags & GlobalOptions): Promise<void> {
  if (opts.driver !== undefined) return (await import('./driver.js')).runDriverTemplate(ctx, opts);
  if (opts.export !== undefined) return runExport(ctx, opts);
  if (opts.output) throw new UsageError('--output goes with --export xml.', 'Add --export xml, or drop --output.');
  const s = await resolveThingWorx(ctx, opts);
  const { thingworxRest } = await import('../clients.js');
  const { planTemplateImport } = await import('../../thingworx/template-import.js');
  const rest = thingworxRest(
    {
      url: s.url,
      appKey: s.appKey,
      ...(s.ca ? { ca: s.ca } : {}),
      insecure: s.insecure,
      timeoutMs: s.timeoutMs ?? 10_000,
    },
    ctx,
  );
  try {
    const plan = await planTemplateImport(rest, s.template);
    const warnings: string[] = [];
    if (plan.wrongBase)
      warnings.push(`${s.template} is based on ${plan.base}, not RemoteThing: its Things cannot be bound.`);
    for (const w of plan.wrongType)
      warnings.push(`Property ${w.name} is ${w.actual}, tpx needs ${w.expected} (not changed).`);
    const done = opts.dryRun || plan.steps.length === 0 ? [] : await applyPlan(rest, plan, s.template);
    const steps = opts.dryRun ? plan.steps : done;
    const outcome = {
      created: steps.some((x) => x.action === 'create-template'),
      added: steps.flatMap((x) => (x.action === 'add-property' ? [x.property] : [])),
    };
    if (ctx.io.json) {
      ctx.io.printJson({
        template: s.template,
        dryRun: Boolean(opts.dryRun),
        existed: plan.exists,
        changed: !opts.dryRun && done.length > 0,
        steps: plan.steps,
        ...outcome,
        unchanged: plan.present,
        warnings,
      });
      return;
    }
    for (const w of warnings) ctx.io.warn(w);
    sayImport(ctx, s.template, plan, { dryRun: Boolean(opts.dryRun), ...outcome });
  } finally {
    await rest.close();
  }
}

type TemplatePlan = Awaited<ReturnType<typeof import('../../thingworx/template-import.js').planTemplateImport>>;

/** Applies the plan; a permission refused gets the other way as its fix: export the XML, import it in Composer. */
async function applyPlan(
  rest: Parameters<typeof import('../../thingworx/template-import.js').applyTemplatePlan>[0],
  plan: TemplatePlan,
  template: string,
) {
  const { ThingWorxError } = await import('../../thingworx/errors.js');
  const { applyTemplatePlan } = await import('../../thingworx/template-import.js');
  try {
    return await applyTemplatePlan(rest, plan);
  } catch (err) {
    if (err instanceof ThingWorxError && /DENIED|VISIBILITY/.test(err.code)) {
      throw new ThingWorxError(err.code, err.message, {
        status: err.status,
        platformText: err.platformText,
        request: err.request,
        fix: `${say(err.fix) ?? ''} Or export the template ("tpx thingworx import-template --export xml --output ${template}.xml") and import the file in Composer.`.trim(),
      });
    }
    throw err;
  }
}

/** The human outcome: up to date, the plan (dry run), or what was created, added and kept. */
function sayImport(
  ctx: CommandContext,
  template: string,
  plan: TemplatePlan,
  o: { dryRun: boolean; created: boolean; added: string[] },
): void {
  if (plan.steps.length === 0) {
    ctx.io.out(`Thing Template ${template} is up to date (${plan.present.length} properties); nothing to change.`);
    return;
  }
  if (o.dryRun) {
    ctx.io.out(`Plan for Thing Template ${template} (dry run, nothing changed):`);
    ctx.io.out(
      ctx.io.table(
        ['step', 'what'],
        plan.steps.map((x) =>
          x.action === 'create-template'
            ? ['create template', `${x.template} (base ${x.base})`]
            : ['add property', `${x.property} (${x.baseType})`],
        ),
      ),
    );
    return;
  }
  if (o.created) ctx.io.out(`Created Thing Template ${template} (base RemoteThing).`);
  if (o.added.length > 0)
    ctx.io.out(`Added ${o.added.length} propert${o.added.length === 1 ? 'y' : 'ies'}: ${o.added.join(', ')}.`);
  if (plan.present.length > 0) ctx.io.out(`Kept ${plan.present.length} existing: ${plan.present.join(', ')}.`);
}

export function register(parent: Command, app: App): void {
  const cmd = parent
    .command('import-template')
    .description(
      'create the Actility Thing Template (or add the properties it lacks); --export xml for Composer Import',
    );
  addThingWorxOptions(cmd)
    .option('--dry-run', 'show what would be created or added; change nothing')
    .option('--export <format>', 'write the template as an entity file instead (format: xml); needs no platform')
    .option('--output <file>', 'with --export: write to this file instead of stdout')
    .option('--driver <name>', "a payload driver's template: derived from --template, typed properties from its schema")
    .action(app.action<ImportTemplateFlags>(async (ctx, opts) => runImportTemplate(ctx, opts)));
}
