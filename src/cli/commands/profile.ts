/** `tpx profile list|show|set|unset|use`: settings profiles in $XDG_CONFIG_HOME/tpx/config.json. */
import type { Command } from 'commander';
import { isSecretKey, SETTINGS, settingKey } from '../../config/keys.js';
import { configPath, readConfig, updateProfile, validateProfileName, writeConfig } from '../../config/profiles.js';
import { mask } from '../../config/secrets.js';
import { UsageError } from '../../errors.js';
import type { App } from '../app.js';
import { type CommandContext, unknownProfile } from '../context.js';

export async function runProfileList(ctx: CommandContext): Promise<void> {
  const config = readConfig(ctx.env);
  const active = ctx.settings.profileName;
  const names = Object.keys(config.profiles).sort();
  if (ctx.io.json) {
    ctx.io.printJson({ active, path: configPath(ctx.env), profiles: names });
    return;
  }
  if (names.length === 0) {
    ctx.io.out(`No profiles yet (${configPath(ctx.env)}).`);
    ctx.io.info('Create one with: tpx profile set thingworxUrl https://host:443 --profile <name>');
    return;
  }
  ctx.io.out(
    ctx.io.table(
      ['', 'profile', 'settings'],
      names.map((n) => [n === active ? '*' : '', n, Object.keys(config.profiles[n] ?? {}).length]),
    ),
  );
}

/** The effective settings of a profile, with their source, secrets masked. */
export async function runProfileShow(ctx: CommandContext, name?: string): Promise<void> {
  const settings = name ? new (await import('../../config/settings.js')).Settings(ctx.env, name) : ctx.settings;
  if (name && !settings.config.profiles[name]) throw unknownProfile(name, Object.keys(settings.config.profiles));
  const rows: { key: string; value: string; source: string; env: string }[] = [];
  for (const s of SETTINGS) {
    const r = settings.get(s.key);
    if (!r) continue;
    rows.push({ key: s.key, value: s.secret ? mask(r.value) : r.value, source: r.source, env: s.env });
  }
  for (const [key, value] of Object.entries(settings.profile)) {
    if (settingKey(key)) continue;
    rows.push({ key, value: isSecretKey(key) ? mask(value) : value, source: 'profile', env: '' });
  }
  if (ctx.io.json) {
    ctx.io.printJson({
      profile: settings.profileName,
      path: configPath(ctx.env),
      settings: Object.fromEntries(rows.map((r) => [r.key, { value: r.value, source: r.source }])),
    });
    return;
  }
  ctx.io.info(`Profile ${settings.profileName} (${configPath(ctx.env)})`);
  if (rows.length === 0) {
    ctx.io.out('No settings.');
    return;
  }
  ctx.io.out(
    ctx.io.table(
      ['key', 'value', 'source'],
      rows.map((r) => [r.key, r.value, r.source === 'env' ? `env ${r.env}` : r.source]),
    ),
  );
}

export async function runProfileSet(ctx: CommandContext, key: string, value: string | undefined): Promise<void> {
  // `tpx --profile lab profile set …` is how a profile is created.
  ctx.profileMayBeNew = true;
  const meta = settingKey(key);
  if (!meta) {
    throw new UsageError(`Unknown setting "${key}".`, `Known settings: ${SETTINGS.map((s) => s.key).join(', ')}.`);
  }
  let v = value;
  if (v === undefined) {
    if (!ctx.io.canPrompt()) {
      throw new UsageError(`No value given for ${key}.`, `Run: tpx profile set ${key} <value>`);
    }
    v = meta.secret ? await ctx.io.prompt.password(`${key}:`) : await ctx.io.prompt.input(`${key}:`);
  }
  if (meta.secret) ctx.io.addSecrets(v);
  const name = ctx.settings.profileName;
  const path = updateProfile(name, { [key]: v }, ctx.env);
  if (ctx.io.json) {
    ctx.io.printJson({ profile: name, key, value: meta.secret ? mask(v) : v, path });
    return;
  }
  ctx.io.success(`Set ${key} in profile ${name} (${path}).`);
}

export async function runProfileUnset(ctx: CommandContext, key: string): Promise<void> {
  const name = ctx.settings.profileName;
  const existed = ctx.settings.profile[key] !== undefined;
  const path = updateProfile(name, { [key]: undefined }, ctx.env);
  if (ctx.io.json) {
    ctx.io.printJson({ profile: name, key, removed: existed, path });
    return;
  }
  if (existed) ctx.io.success(`Removed ${key} from profile ${name}.`);
  else ctx.io.info(`Profile ${name} had no ${key}; nothing changed.`);
}

export async function runProfileUse(ctx: CommandContext, name: string): Promise<void> {
  validateProfileName(name);
  const config = readConfig(ctx.env);
  if (!config.profiles[name]) throw unknownProfile(name, Object.keys(config.profiles));
  config.current = name;
  const path = writeConfig(config, ctx.env);
  if (ctx.io.json) {
    ctx.io.printJson({ active: name, path });
    return;
  }
  ctx.io.success(`Profile ${name} is now the default.`);
}

export function register(program: Command, app: App): void {
  const cmd = program.command('profile').description('manage settings profiles');
  cmd
    .command('list')
    .description('list profiles (* marks the active one)')
    .action(app.action(async (ctx) => runProfileList(ctx)));
  cmd
    .command('show [name]')
    .description('show the effective settings (flags > env > profile), secrets masked')
    .action(app.action(async (ctx, _o, [name]) => runProfileShow(ctx, name)));
  cmd
    .command('set <key> [value]')
    .description('set a value in the active profile (prompts, hidden, for a secret when no value is given)')
    .action(app.action(async (ctx, _o, [key, value]) => runProfileSet(ctx, key!, value)));
  cmd
    .command('unset <key>')
    .description('remove a value from the active profile')
    .action(app.action(async (ctx, _o, [key]) => runProfileUnset(ctx, key!)));
  cmd
    .command('use <name>')
    .description('make an existing profile the default')
    .action(app.action(async (ctx, _o, [name]) => runProfileUse(ctx, name!)));
}
