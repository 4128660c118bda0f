/**
 * `tpx driver add|assign|list|show|remove|decode|encode|test`: payload drivers (TS013 / Actility / TTN-style codecs)
 * kept per profile, which the bridge runs on uplinks and JSON downlinks. decode/encode/test also take a path to a
 * driver not added yet (folder, .tgz or .js), for driver authors.
 */
import type { Command } from 'commander';
import { CheckFailedError, ExitCode, UsageError } from '../../errors.js';
import type { App } from '../app.js';
import type { CommandContext, GlobalOptions } from '../context.js';
import { wholeNumberOption } from '../options.js';

export interface AssignFlags {
  deveui?: string[];
  prefix?: string[];
  range?: string[];
  field?: string[];
}

export interface DriverAddFlags extends AssignFlags {
  name?: string;
  replace?: boolean;
}

export interface DriverRunFlags {
  driverTimeout?: string;
}

export interface DriverDecodeFlags extends DriverRunFlags {
  fport?: string;
  hex?: string;
  time?: string;
  deveui?: string;
  downlink?: boolean;
}

export interface DriverEncodeFlags extends DriverRunFlags {
  data?: string;
  fport?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

async function assignments(flags: AssignFlags) {
  const { parseAssignment } = await import('../../drivers/registry.js');
  type A = NonNullable<ReturnType<typeof parseAssignment>>;
  const out: A[] = [];
  const take = (kind: A['type'], flag: string, values: string[] | undefined, form: string) => {
    for (const v of values ?? []) {
      const a = parseAssignment(kind, v);
      if (!a) throw new UsageError(`${flag} "${v}" is not valid.`, `Give ${flag} ${form}.`);
      out.push(a);
    }
  };
  take('deveui', '--deveui', flags.deveui, 'a DevEUI of 16 hex digits');
  take('prefix', '--prefix', flags.prefix, 'the first hex digits of DevEUIs, e.g. 70B3D5');
  take('range', '--range', flags.range, 'FROM..TO, two DevEUIs of 16 hex digits, FROM ≤ TO');
  take('field', '--field', flags.field, 'PATH=VALUE of the uplink document, e.g. DriverCfg.id=vendor:model:1');
  return out;
}

async function timeoutMs(ctx: CommandContext, flag: string | undefined): Promise<number> {
  const { durationOption } = await import('../options.js');
  const text = ctx.settings.value('driverTimeout', flag);
  return durationOption('--driver-timeout', text, { bare: 'ms', min: 1, max: 60_000 }) ?? 50;
}

/** A driver of the profile, or one given as a path, started in its own host. */
async function startOne(ctx: CommandContext, nameOrPath: string, flag: string | undefined) {
  const { resolveDriver } = await import('../../drivers/registry.js');
  const { DriverDecoder } = await import('../../drivers/decoder.js');
  const r = resolveDriver(ctx.settings.profileName, nameOrPath, ctx.env);
  const decoder = await DriverDecoder.start([{ name: r.name, pkg: r.pkg, assign: [] }], {
    timeoutMs: await timeoutMs(ctx, flag),
  });
  return { ...r, decoder };
}

export async function runDriverAdd(ctx: CommandContext, source: string, opts: DriverAddFlags & GlobalOptions) {
  const assign = await assignments(opts);
  const { addDriver, describeAssignment, removeDriver } = await import('../../drivers/registry.js');
  const { DriverDecoder } = await import('../../drivers/decoder.js');
  const { typedFields } = await import('../../drivers/schema.js');
  const profile = ctx.settings.profileName;
  const { entry, pkg } = addDriver(profile, { source, name: opts.name, assign, replace: opts.replace }, ctx.env);
  let functions: string[];
  try {
    const d = await DriverDecoder.start([{ name: entry.name, pkg, assign: [] }]);
    functions = d.host.functionsOf(entry.name);
    await d.close();
  } catch (err) {
    removeDriver(profile, entry.name, ctx.env);
    throw err;
  }
  const fields = typedFields(pkg.uplinkSchema);
  if (ctx.io.json) {
    ctx.io.printJson({
      ...entry,
      package: { name: pkg.name, version: pkg.version, protocolId: pkg.protocolId, useContext: pkg.useContext },
      functions,
      examples: pkg.examples.length,
      typedFields: fields.map((f) => ({ name: f.name, baseType: f.baseType })),
    });
    return;
  }
  ctx.io.success(
    `Added driver ${entry.name} (${pkg.name}${pkg.version ? ` ${pkg.version}` : ''}) to profile ${profile}: ${functions.join(', ')}.`,
  );
  ctx.io.out(
    `${pkg.examples.length} example${pkg.examples.length === 1 ? '' : 's'}; ${fields.length} typed field${fields.length === 1 ? '' : 's'} in uplink.schema.json${pkg.useContext ? '; keeps a context per device' : ''}.`,
  );
  if (entry.assign.length === 0) {
    ctx.io.warn(`No device is assigned to ${entry.name} yet.`);
    ctx.io.info(
      `Assign some: tpx driver assign ${entry.name} --deveui <DevEUI> | --prefix <hex> | --field DriverCfg.id=<id>`,
    );
  } else ctx.io.out(`Decodes: ${entry.assign.map(describeAssignment).join('; ')}.`);
}

export async function runDriverAssign(
  ctx: CommandContext,
  name: string,
  opts: AssignFlags & { clear?: boolean } & GlobalOptions,
) {
  const assign = await assignments(opts);
  if (assign.length === 0 && !opts.clear) {
    throw new UsageError('Nothing to assign.', 'Give --deveui, --prefix, --range or --field (repeatable), or --clear.');
  }
  const { updateDriver, describeAssignment } = await import('../../drivers/registry.js');
  const entry = updateDriver(
    ctx.settings.profileName,
    name,
    (e) => {
      const kept = opts.clear ? [] : e.assign;
      const seen = new Set(kept.map((a) => JSON.stringify(a)));
      return { ...e, assign: [...kept, ...assign.filter((a) => !seen.has(JSON.stringify(a)))] };
    },
    ctx.env,
  );
  if (ctx.io.json) {
    ctx.io.printJson(entry);
    return;
  }
  ctx.io.success(
    entry.assign.length === 0
      ? `Driver ${name} decodes no device now.`
      : `Driver ${name} decodes: ${entry.assign.map(describeAssignment).join('; ')}.`,
  );
}

export async function runDriverList(ctx: CommandContext) {
  const { listDrivers, describeAssignment, registryPath } = await import('../../drivers/registry.js');
  const list = listDrivers(ctx.settings.profileName, ctx.env);
  if (ctx.io.json) {
    ctx.io.printJson({ profile: ctx.settings.profileName, path: registryPath(ctx.env), drivers: list });
    return;
  }
  if (list.length === 0) {
    ctx.io.out(`No drivers in profile ${ctx.settings.profileName}.`);
    ctx.io.info('Add one: tpx driver add <folder | package.tgz | codec.js> --prefix <DevEUI prefix>');
    return;
  }
  ctx.io.out(
    ctx.io.table(
      ['driver', 'decodes', 'template', 'source'],
      list.map((d) => [d.name, d.assign.map(describeAssignment).join('; ') || '-', d.template ?? '-', d.source]),
    ),
  );
}

export async function runDriverShow(ctx: CommandContext, name: string) {
  const { getDriver, describeAssignment } = await import('../../drivers/registry.js');
  const { readDriver } = await import('../../drivers/package.js');
  const { typedFields, DRIVER_PROPS } = await import('../../drivers/schema.js');
  const entry = getDriver(ctx.settings.profileName, name, ctx.env);
  const pkg = readDriver(entry.dir);
  const fields = typedFields(pkg.uplinkSchema);
  const info = {
    ...entry,
    package: {
      name: pkg.name,
      version: pkg.version,
      description: pkg.description,
      protocolId: pkg.protocolId,
      signature: pkg.signature ?? 'lora-alliance',
      useContext: pkg.useContext,
      main: pkg.main,
      files: pkg.files,
    },
    examples: pkg.examples.map((e) => ({ type: e.type, description: e.description })),
    properties: [
      { name: DRIVER_PROPS.decodedPayload, baseType: 'JSON' },
      { name: DRIVER_PROPS.decodeErrors, baseType: 'JSON' },
      ...fields.map((f) => ({ name: f.name, baseType: f.baseType, field: f.path.join('.') })),
    ],
  };
  if (ctx.io.json) {
    ctx.io.printJson(info);
    return;
  }
  const io = ctx.io;
  io.out(io.color.bold(`Driver ${entry.name}`) + ` (${pkg.name}${pkg.version ? ` ${pkg.version}` : ''})`);
  if (pkg.description) io.out(pkg.description);
  io.out(
    io.table(
      ['', ''],
      [
        ['decodes', entry.assign.map(describeAssignment).join('; ') || '-'],
        ['template', entry.template ?? '- (tpx thingworx import-template --driver ' + entry.name + ')'],
        ['protocol id', pkg.protocolId ?? '-'],
        ['signature', pkg.signature ?? 'lora-alliance'],
        ['context per device', pkg.useContext ? 'yes' : 'no'],
        ['script', `${pkg.main} (${entry.dir})`],
        ['source', entry.source],
        ['examples', String(pkg.examples.length)],
      ],
    ),
  );
  io.out(io.color.bold('ThingWorx properties'));
  io.out(
    io.table(
      ['property', 'type', 'from'],
      info.properties.map((p) => [p.name, p.baseType, 'field' in p ? String(p.field) : '']),
    ),
  );
}

export async function runDriverRemove(ctx: CommandContext, name: string) {
  const { removeDriver } = await import('../../drivers/registry.js');
  const entry = removeDriver(ctx.settings.profileName, name, ctx.env);
  if (ctx.io.json) ctx.io.printJson({ removed: entry.name, profile: ctx.settings.profileName });
  else ctx.io.success(`Removed driver ${entry.name} from profile ${ctx.settings.profileName}.`);
}

export async function runDriverDecode(ctx: CommandContext, driver: string, opts: DriverDecodeFlags & GlobalOptions) {
  const fPort = wholeNumberOption('--fport', opts.fport, 0, 255);
  if (fPort === undefined) throw new UsageError('--fport is missing.', 'Give --fport N (the LoRaWAN port, 1..223).');
  const hex = (opts.hex ?? '').replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) {
    throw new UsageError(
      `--hex "${opts.hex ?? ''}" is not hex bytes.`,
      'Give --hex with the payload, e.g. 0866600E10.',
    );
  }
  if (opts.time !== undefined && Number.isNaN(Date.parse(opts.time))) {
    throw new UsageError(`--time "${opts.time}" is not a date.`, 'Give --time as ISO 8601, e.g. 2026-01-01T10:00:00Z.');
  }
  const { hexToBytes } = await import('../../drivers/decoder.js');
  const d = await startOne(ctx, driver, opts.driverTimeout);
  try {
    const r = await d.decoder.decode(
      d.name,
      { bytes: hexToBytes(hex), fPort, ...(opts.time ? { recvTime: new Date(opts.time).toISOString() } : {}) },
      opts.deveui,
      opts.downlink ? 'decodeDownlink' : 'decodeUplink',
    );
    if (ctx.io.json) {
      ctx.io.printJson({ driver: d.name, ok: r.ok, data: r.data, errors: r.errors, warnings: r.warnings, ms: r.ms });
    } else {
      if (r.ok) ctx.io.out(JSON.stringify(r.data, null, 2));
      for (const w of r.warnings) ctx.io.warn(`Driver warning: ${w}`);
    }
    if (!r.ok && ctx.io.json) return ExitCode.CHECK_FAILED;
    if (!r.ok) {
      throw new CheckFailedError(
        `${d.name} could not decode the payload: ${r.errors.join('; ')}`,
        r.reason === 'timeout'
          ? 'The driver ran past its time limit; raise --driver-timeout if it is just slow.'
          : undefined,
      );
    }
  } finally {
    await d.decoder.close();
  }
}

export async function runDriverEncode(ctx: CommandContext, driver: string, opts: DriverEncodeFlags & GlobalOptions) {
  let data: unknown;
  try {
    data = JSON.parse(opts.data ?? '');
  } catch {
    throw new UsageError(`--data is not JSON.`, `Give --data '{"interval": 15}' (the decoded downlink).`);
  }
  const fPort = wholeNumberOption('--fport', opts.fport, 1, 223);
  const d = await startOne(ctx, driver, opts.driverTimeout);
  try {
    const r = await d.decoder.encode(d.name, data, fPort);
    if (ctx.io.json) {
      ctx.io.printJson({
        driver: d.name,
        ok: r.ok,
        fPort: r.fPort,
        hex: r.hex,
        bytes: r.bytes,
        errors: r.errors,
        warnings: r.warnings,
        ms: r.ms,
      });
    } else if (r.ok) {
      ctx.io.out(`FPort ${r.fPort}  payload_hex ${r.hex}`);
      for (const w of r.warnings) ctx.io.warn(`Driver warning: ${w}`);
    }
    if (!r.ok && ctx.io.json) return ExitCode.CHECK_FAILED;
    if (!r.ok) throw new CheckFailedError(`${d.name} could not encode the downlink: ${r.errors.join('; ')}`);
  } finally {
    await d.decoder.close();
  }
}

export async function runDriverTest(ctx: CommandContext, driver: string, opts: DriverRunFlags & GlobalOptions) {
  const { runExamples } = await import('../../drivers/examples.js');
  const d = await startOne(ctx, driver, opts.driverTimeout);
  let results: Awaited<ReturnType<typeof runExamples>>;
  try {
    results = await runExamples(d.decoder, d.name, d.pkg.examples);
  } finally {
    await d.decoder.close();
  }
  const failed = results.filter((r) => !r.pass).length;
  if (ctx.io.json) {
    ctx.io.printJson({ driver: d.name, passed: results.length - failed, failed, examples: results });
  } else {
    for (const r of results) {
      const mark = r.pass ? ctx.io.color.green('pass') : ctx.io.color.red('FAIL');
      ctx.io.out(`${mark}  ${r.type.padEnd(15)} ${r.description}`);
      for (const p of r.problems) ctx.io.out(`      ${p}`);
    }
    ctx.io.out(`${results.length - failed} passed, ${failed} failed (${results.length} examples).`);
  }
  if (ctx.io.json) return results.length === 0 || failed > 0 ? ExitCode.CHECK_FAILED : ExitCode.OK;
  if (results.length === 0) {
    throw new CheckFailedError(`${d.name} has no examples.`, 'Add an examples.json next to the driver script.');
  }
  if (failed > 0) {
    throw new CheckFailedError(
      `${failed} of ${results.length} examples failed.`,
      'Fix the driver or its examples.json.',
    );
  }
}

function assignOptions(c: Command): Command {
  return c
    .option('--deveui <DevEUI>', 'decode this device (repeatable)', collect)
    .option('--prefix <hex>', 'decode devices whose DevEUI starts with these hex digits (repeatable)', collect)
    .option('--range <FROM..TO>', 'decode DevEUIs from FROM to TO (repeatable)', collect)
    .option(
      '--field <PATH=VALUE>',
      'decode uplinks whose document has this value, e.g. DriverCfg.id=vendor:model:1 or ModelCfg=… (repeatable; UNCONFIRMED that your ThingPark sends them)',
      collect,
    );
}

const timeoutOption = (c: Command) =>
  c.option(
    '--driver-timeout <duration>',
    'time limit of one driver call, e.g. 50ms (env TPX_DRIVER_TIMEOUT, default 50ms; a bare number is ms)',
  );

export function register(program: Command, app: App): void {
  const cmd = program
    .command('driver')
    .description('payload drivers (TS013 / Actility / TTN codecs): decoded values in ThingWorx, JSON downlinks');
  assignOptions(
    cmd
      .command('add <source>')
      .description('add a driver from a folder, an npm tarball (.tgz) or a .js file; assign devices to it')
      .option('--name <name>', 'name of the driver in tpx (default: the package name)')
      .option('--replace', 'replace a driver of the same name (its assignments are kept)'),
  ).action(app.action<DriverAddFlags>(async (ctx, opts, [source]) => runDriverAdd(ctx, source!, opts)));
  assignOptions(
    cmd
      .command('assign <driver>')
      .description('assign more devices to a driver (or --clear its assignments)')
      .option('--clear', 'remove the assignments first'),
  ).action(
    app.action<AssignFlags & { clear?: boolean }>(async (ctx, opts, [name]) => runDriverAssign(ctx, name!, opts)),
  );
  cmd
    .command('list')
    .description("the profile's drivers and the devices they decode")
    .action(app.action(async (ctx) => runDriverList(ctx)));
  cmd
    .command('show <driver>')
    .description('a driver: package, assignments, examples, the ThingWorx properties it fills')
    .action(app.action(async (ctx, _o, [name]) => runDriverShow(ctx, name!)));
  cmd
    .command('remove <driver>')
    .description('remove a driver from the profile')
    .action(app.action(async (ctx, _o, [name]) => runDriverRemove(ctx, name!)));
  timeoutOption(
    cmd
      .command('decode <driver>')
      .description('decode a payload with a driver (a name, or a path to a driver folder, .tgz or .js)')
      .option('--fport <n>', 'LoRaWAN port')
      .option('--hex <bytes>', 'payload, hex')
      .option('--time <iso>', 'reception time given to the driver (default now)')
      .option('--deveui <DevEUI>', 'device, for drivers that keep a context per device')
      .option('--downlink', 'decode a downlink payload (decodeDownlink)'),
  ).action(app.action<DriverDecodeFlags>(async (ctx, opts, [d]) => runDriverDecode(ctx, d!, opts)));
  timeoutOption(
    cmd
      .command('encode <driver>')
      .description('encode a downlink with a driver: FPort and payload_hex')
      .option('--data <json>', 'the decoded downlink, JSON')
      .option('--fport <n>', 'LoRaWAN port, for drivers that do not choose one'),
  ).action(app.action<DriverEncodeFlags>(async (ctx, opts, [d]) => runDriverEncode(ctx, d!, opts)));
  timeoutOption(
    cmd
      .command('test <driver>')
      .description("run the driver's examples.json and report pass/fail per example (exit 3 when one fails)"),
  ).action(app.action<DriverRunFlags>(async (ctx, opts, [d]) => runDriverTest(ctx, d!, opts)));
}

/**
 * The profile's drivers for `tpx bridge` and the sandbox: started in one host, their failures reported (a warning
 * per failed decode; NDJSON events with --json). Undefined when the profile has no drivers.
 */
export async function startProfileDrivers(ctx: CommandContext, timeoutFlag: string | undefined) {
  const { profileSetups } = await import('../../drivers/registry.js');
  const setups = profileSetups(ctx.settings.profileName, ctx.env);
  if (setups.length === 0) return undefined;
  const { DriverDecoder } = await import('../../drivers/decoder.js');
  const { registerDriverMetrics } = await import('../../drivers/metrics.js');
  const decoder = await DriverDecoder.start(setups, { timeoutMs: await timeoutMs(ctx, timeoutFlag) });
  const report = (event: string, payload: Record<string, unknown>, text: string) => {
    if (ctx.io.json) ctx.io.event(event, payload);
    else ctx.io.warn(text);
  };
  decoder.on('decode.failed', (e) =>
    report(
      'driver.decode_failed',
      e,
      `Driver ${e.driver} could not decode an uplink of ${e.devEui}: ${e.errors.join('; ')} (raw uplink delivered).`,
    ),
  );
  decoder.on('worker.replaced', (e) =>
    report('driver.worker_replaced', e, `Driver worker replaced (${e.reason}: ${e.error}).`),
  );
  if (!ctx.io.json && !ctx.io.quiet) ctx.io.info(`Payload drivers: ${decoder.driverNames.join(', ')}.`);
  return {
    decoder,
    attach: (registry: import('prom-client').Registry) => registerDriverMetrics(decoder, registry),
    close: () => decoder.close(),
  };
}

/**
 * `tpx thingworx import-template --driver <d>`: the template of the driver's devices, derived from the Actility
 * template, with decodedPayload, decodeErrors and a typed, logged property per scalar field of uplink.schema.json;
 * recorded on the driver so the bridge creates its new Things from it.
 */
export async function runDriverTemplate(
  ctx: CommandContext,
  opts: import('./thingworx-check.js').ThingWorxFlags & { driver?: string; dryRun?: boolean } & GlobalOptions,
) {
  const { resolveThingWorx } = await import('./thingworx-check.js');
  const { getDriver, updateDriver } = await import('../../drivers/registry.js');
  const { readDriver } = await import('../../drivers/package.js');
  const { typedFields } = await import('../../drivers/schema.js');
  const { driverTemplateName, driverProperties, planDriverTemplate, applyDriverTemplate } = await import(
    '../../drivers/template.js'
  );
  const profile = ctx.settings.profileName;
  const entry = getDriver(profile, opts.driver ?? '', ctx.env);
  const pkg = readDriver(entry.dir);
  const fields = typedFields(pkg.uplinkSchema);
  if (!pkg.uplinkSchema) ctx.io.warn(`${entry.name} has no uplink.schema.json: only decodedPayload and decodeErrors.`);
  const s = await resolveThingWorx(ctx, opts);
  const name = driverTemplateName(s.template, entry.name);
  const { ThingWorxRest } = await import('../../thingworx/rest.js');
  const rest = new ThingWorxRest({
    url: s.url,
    appKey: s.appKey,
    ...(s.ca ? { ca: s.ca } : {}),
    insecure: s.insecure,
    timeoutMs: s.timeoutMs ?? 10_000,
  });
  try {
    if (!(await rest.getThingTemplate(s.template))) {
      throw new UsageError(
        `The base template ${s.template} does not exist on ThingWorx.`,
        `Create it first: tpx thingworx import-template${s.template === 'actilityThingTemplateSF' ? '' : ` --template ${s.template}`}`,
      );
    }
    const plan = await planDriverTemplate(rest, name, s.template, driverProperties(entry.name, fields));
    const added = opts.dryRun ? plan.add.map((p) => p.name) : await applyDriverTemplate(rest, plan, entry.name);
    if (!opts.dryRun) updateDriver(profile, entry.name, (e) => ({ ...e, template: name }), ctx.env);
    const warnings = plan.wrongType.map(
      (w) => `Property ${w.name} is ${w.actual}, the driver needs ${w.expected} (not changed).`,
    );
    if (ctx.io.json) {
      ctx.io.printJson({
        driver: entry.name,
        template: name,
        base: s.template,
        dryRun: Boolean(opts.dryRun),
        created: plan.create && !opts.dryRun,
        added: plan.add.map((p) => ({ name: p.name, baseType: p.type, logged: p.logged })),
        unchanged: plan.present,
        warnings,
      });
      return;
    }
    for (const w of warnings) ctx.io.warn(w);
    const verb = opts.dryRun ? 'Would' : '';
    if (plan.create) ctx.io.out(`${verb ? 'Would create' : 'Created'} Thing Template ${name} (base ${s.template}).`);
    if (plan.add.length > 0) {
      ctx.io.out(
        ctx.io.table(
          ['property', 'type', 'logged'],
          plan.add.map((p) => [p.name, p.type, p.logged ? 'yes' : 'no']),
        ),
      );
      ctx.io.out(`${verb ? 'Would add' : 'Added'} ${added.length} propert${added.length === 1 ? 'y' : 'ies'}.`);
    } else ctx.io.out(`Thing Template ${name} is up to date; nothing to change.`);
    if (!opts.dryRun) {
      ctx.io.info(`New Things of ${entry.name}'s devices are created from ${name} by the bridge.`);
    }
  } finally {
    await rest.close();
  }
}

/** The profile's driver of a Thing (for `tpx thing show`): by DevEUI, or by a field of its latest uplink. */
export async function driverOfThing(ctx: CommandContext, devEui: string, uplinkData: unknown) {
  const { listDrivers, describeAssignment } = await import('../../drivers/registry.js');
  const entries = listDrivers(ctx.settings.profileName, ctx.env);
  if (entries.length === 0) return undefined;
  const { Assignments } = await import('../../drivers/assign.js');
  let doc = uplinkData;
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc) as unknown;
    } catch {
      doc = undefined;
    }
  }
  const root = doc && typeof doc === 'object' ? Object.values(doc as Record<string, unknown>)[0] : undefined;
  const m = new Assignments(entries).forUplink(devEui, root);
  if (!m) return undefined;
  const entry = entries.find((e) => e.name === m.driver);
  return {
    name: m.driver,
    assignedBy: describeAssignment(m.by),
    ...(entry?.template ? { template: entry.template } : {}),
  };
}
