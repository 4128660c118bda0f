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
  const { ThingWorxError } = await import('../../thingworx/errors.js');
  const { planTemplateImport, applyTemplatePlan } = await import('../../thingworx/template-import.js');
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
    let done = plan.steps.slice(0, 0);
    if (!opts.dryRun && plan.steps.length > 0) {
      try {
        done = await applyTemplatePlan(rest, plan);
      } catch (err) {
        if (err instanceof ThingWorxError && /DENIED|VISIBILITY/.test(err.code)) {
          throw new ThingWorxError(err.code, err.message, {
            status: err.status,
            platformText: err.platformText,
            request: err.request,
            fix: `${say(err.fix) ?? ''} Or export the template ("tpx thingworx import-template --export xml --output ${s.template}.xml") and import the file in Composer.`.trim(),
          });
        }
        throw err;
      }
    }
    const added = (opts.dryRun ? plan.steps : done).flatMap((x) => (x.action === 'add-property' ? [x.property] : []));
    const created = (opts.dryRun ? plan.steps : done).some((x) => x.action === 'create-template');
    if (ctx.io.json) {
      ctx.io.printJson({
        template: s.template,
        dryRun: Boolean(opts.dryRun),
        existed: plan.exists,
        changed: !opts.dryRun && done.length > 0,
        steps: plan.steps,
        created,
        added,
        unchanged: plan.present,
        warnings,
      });
      return;
    }
    for (const w of warnings) ctx.io.warn(w);
    if (plan.steps.length === 0) {
      ctx.io.out(`Thing Template ${s.template} is up to date (${plan.present.length} properties); nothing to change.`);
      return;
    }
    if (opts.dryRun) {
      ctx.io.out(`Plan for Thing Template ${s.template} (dry run, nothing changed):`);
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
    if (created) ctx.io.out(`Created Thing Template ${s.template} (base RemoteThing).`);
    if (added.length > 0)
      ctx.io.out(`Added ${added.length} propert${added.length === 1 ? 'y' : 'ies'}: ${added.join(', ')}.`);
    if (plan.present.length > 0) ctx.io.out(`Kept ${plan.present.length} existing: ${plan.present.join(', ')}.`);
  } finally {
    await rest.close();
  }
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
