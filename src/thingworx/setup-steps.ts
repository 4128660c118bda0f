/**
 * The steps of `tpx thingworx setup` that need more than a read and a write: the application key (create,
 * reuse, renew an expired or expiry-less key), the Thing Template, and turning a failure into the error users
 * see (naming the missing right).
 */
import { TpxError } from '../errors.js';
import type { ThingWorxRest } from './rest.js';
import { deniedRight, errorInfo, isNotAuthorized, type SetupPlatform } from './setup-platform.js';
import { applyTemplatePlan, planTemplateImport } from './template-import.js';

/** ok: already as wanted; done: changed now; planned: would change (dry run); failed: stopped setup. */
export type SetupStepStatus = 'ok' | 'done' | 'planned' | 'failed';

export interface StepOutcome {
  status: SetupStepStatus;
  detail: string;
}

/** What the key step reports back into the setup result. */
export interface KeyState {
  keyName: string;
  user: string;
  keyCreated: boolean;
  keyExpiresAt?: string;
}

/** An existing key expiring sooner than this is extended to the requested expiry. */
const RENEW_WITHIN_MS = 7 * 86_400_000;

export type TemplateConnect = (appKey?: string) => { rest: ThingWorxRest; close: () => Promise<void> };

export async function keyStep(
  p: SetupPlatform,
  result: KeyState,
  expiresAt: Date,
  now: Date,
  dry: boolean,
): Promise<StepOutcome> {
  const { keyName, user } = result;
  const until = (d: Date) => `expires ${d.toISOString().slice(0, 10)}`;
  if (!(await p.entityExists('ApplicationKey', keyName))) {
    result.keyExpiresAt = expiresAt.toISOString();
    if (dry) return { status: 'planned', detail: `would be created for ${user}, ${until(expiresAt)}` };
    await p.createKey(keyName, user, expiresAt, 'ThingPark connector key (created by tpx thingworx setup)');
    result.keyCreated = true;
    const made = await p.keyInfo(keyName);
    if (made.user !== user) {
      throw new TpxError(
        'TPX_SETUP_KEY_OWNER',
        `ThingWorx created application key ${keyName} for ${made.user ?? 'an unknown user'}, not ${user}.`,
        {
          fix: `Delete the key in Composer → Security → Application Keys and create it for ${user} (Username Reference), or report this platform version.`,
        },
      );
    }
    if (!made.expiresAt || Math.abs(made.expiresAt.getTime() - expiresAt.getTime()) > 86_400_000) {
      throw new TpxError(
        'TPX_SETUP_KEY_EXPIRY',
        `ThingWorx created application key ${keyName} without the requested expiry.`,
        {
          fix: `Set its Expiration Date in Composer → Security → Application Keys (wanted: ${expiresAt.toISOString()}).`,
        },
      );
    }
    return { status: 'done', detail: `created for ${user}, ${until(expiresAt)}` };
  }
  const info = await p.keyInfo(keyName);
  if (info.user && info.user !== user) {
    throw new TpxError('TPX_SETUP_KEY_OWNER', `Application key ${keyName} belongs to user ${info.user}, not ${user}.`, {
      fix: { id: 'setup-key-owner', user: info.user },
      details: { keyName, user: info.user },
    });
  }
  const left = info.expiresAt ? info.expiresAt.getTime() - now.getTime() : 0;
  const soon = left > 0 && left < RENEW_WITHIN_MS && expiresAt.getTime() > info.expiresAt!.getTime() + 86_400_000;
  if (info.expiresAt && left > 0 && !soon) {
    result.keyExpiresAt = info.expiresAt.toISOString();
    return { status: 'ok', detail: `exists, ${until(info.expiresAt)}` };
  }
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const why = !info.expiresAt
    ? 'has no expiration date'
    : soon
      ? `expires ${day(info.expiresAt)}, in less than 7 days`
      : `expired ${day(info.expiresAt)}`;
  result.keyExpiresAt = expiresAt.toISOString();
  if (dry) return { status: 'planned', detail: `${why}: would set it to ${expiresAt.toISOString().slice(0, 10)}` };
  await p.setKeyExpiry(keyName, expiresAt);
  return { status: 'done', detail: `${why}: now ${until(expiresAt)}` };
}

export async function templateStep(
  t: { name: string; connect: TemplateConnect },
  appKey: string | undefined,
): Promise<StepOutcome> {
  // Read with the administrator's client; create a missing template with the connector's key (its user becomes
  // the owner, as when the connector creates it); add properties to an existing one with the administrator's.
  const admin = t.connect();
  try {
    const plan = await planTemplateImport(admin.rest, t.name);
    const problems = [
      ...(plan.wrongBase ? [`its base is ${plan.base}, not RemoteThing`] : []),
      ...plan.wrongType.map((w) => `${w.name} is ${w.actual}, not ${w.expected}`),
    ];
    if (problems.length > 0) {
      throw new TpxError('TPX_SETUP_TEMPLATE', `Thing Template ${t.name} exists but ${problems.join('; ')}.`, {
        fix: { id: 'setup-template-shape' },
        details: { template: t.name, problems },
      });
    }
    const adds = plan.steps.filter((s) => s.action === 'add-property').length;
    const props = `${adds} propert${adds === 1 ? 'y' : 'ies'}`;
    if (plan.steps.length === 0) return { status: 'ok', detail: `present with its ${plan.present.length} properties` };
    if (!appKey)
      return { status: 'planned', detail: plan.exists ? `would add ${props}` : `would create it with ${props}` };
    if (plan.exists) {
      await applyTemplatePlan(admin.rest, plan);
      return { status: 'done', detail: `added ${props}` };
    }
    const connector = t.connect(appKey);
    try {
      await applyTemplatePlan(connector.rest, plan);
    } catch (err) {
      if (!isNotAuthorized(err)) throw err;
      const right = deniedRight(err) ?? errorInfo(err).text;
      throw new TpxError(
        'TPX_SETUP_TEMPLATE',
        `The connector's new key may not create Thing Template ${t.name}: ${right}.`,
        {
          fix: { id: 'setup-template-denied' },
          cause: err,
          details: { missingRight: right },
        },
      );
    } finally {
      await connector.close();
    }
    return { status: 'done', detail: `created with ${props} (owner: the connector user)` };
  } finally {
    await admin.close();
  }
}

export function stepError(title: string, err: unknown): TpxError {
  if (err instanceof TpxError && err.code.startsWith('TPX_SETUP_')) return err;
  const { status, text } = errorInfo(err);
  if (isNotAuthorized(err)) {
    const right = deniedRight(err) ?? text;
    const platform =
      right === text || (text.includes(right) && text.length - right.length < 10) ? '' : ` (ThingWorx: "${text}")`;
    return new TpxError(
      'TPX_SETUP_FORBIDDEN',
      `${title}: the administrator credentials lack a right: ${right}${platform}.`,
      {
        fix: { id: 'setup-admin-credentials', rejected: false },
        details: { missingRight: right },
      },
    );
  }
  if (status === 401) {
    return new TpxError('TPX_SETUP_AUTH', `${title}: ThingWorx rejected the administrator credentials (401).`, {
      fix: { id: 'setup-admin-credentials', rejected: true },
      details: { setting: 'thingworxAdminKey' },
    });
  }
  if (err instanceof TpxError)
    return new TpxError(err.code, `${title}: ${err.message}`, { fix: err.fix, exitCode: err.exitCode });
  return new TpxError('TPX_SETUP_FAILED', `${title}: ${text}`, {
    fix: { id: 'setup-failed' },
  });
}
