/**
 * `tpx thingworx setup`: the Actility set-up guide's Composer steps, done over REST with an administrator's
 * credentials. Each step first reads the platform and changes it only when needed, so a second run changes
 * nothing; with dryRun nothing is written at all. Returns the step results; the CLI renders them.
 */
import { randomBytes } from 'node:crypto';
import { TpxError } from '../errors.js';
import {
  type BindPolicy,
  type BindPolicyNames,
  DEFAULT_SETUP_NAMES,
  defaultKeyName,
  type SetupNames,
} from './setup-names.js';
import { bindPolicyValue, hasGrant, isNotFound, type ServiceCaller, SetupPlatform } from './setup-platform.js';
import { keyStep, type SetupStepStatus, stepError, type TemplateConnect, templateStep } from './setup-steps.js';

export type { SetupStepStatus } from './setup-steps.js';

export interface SetupStep {
  id: string;
  title: string;
  status: SetupStepStatus;
  detail: string;
}

export interface SetupOptions {
  /** A client authenticated with the administrator's credentials. */
  client: ServiceCaller;
  /** Connector user (default tpx-connector). */
  user: string;
  /** Application key name (default "<user>-key"). */
  keyName?: string;
  /** Expiry of a new key, or of an existing key that has none or is expired. */
  keyExpiresAt: Date;
  bindPolicy?: BindPolicy;
  bindPolicyNames?: BindPolicyNames;
  dryRun?: boolean;
  names?: Partial<SetupNames>;
  /**
   * Also make sure the Actility Thing Template exists with its properties (the guide's "Actility Thing Templates
   * must be imported"), created with the connector's new key so that its user owns it, as the connector would.
   * `connect(appKey)` gives a client for that key; `connect()` (dry run) a read-only one (the admin's).
   */
  template?: { name: string; connect: TemplateConnect };
  /** Called when a step starts (status undefined) and when it ends. */
  onStep?: (step: SetupStep, index: number, total: number) => void;
  now?: () => Date;
}

export interface SetupResult {
  adminUser: string;
  user: string;
  keyName: string;
  dryRun: boolean;
  /** True when any step changed the platform. */
  changed: boolean;
  steps: SetupStep[];
  /** The connector key (Key ID): created now, or read back from the existing key. Undefined in a dry run. */
  appKey?: string;
  keyCreated: boolean;
  keyExpiresAt?: string;
}

interface StepDef {
  id: string;
  title: string;
  run: () => Promise<{ status: SetupStepStatus; detail: string }>;
}

/** Runs the set-up steps in order; throws a TpxError (with details.steps) at the first step that fails. */
export async function runThingWorxSetup(options: SetupOptions): Promise<SetupResult> {
  const names: SetupNames = { ...DEFAULT_SETUP_NAMES, ...options.names };
  const user = options.user;
  const keyName = options.keyName ?? defaultKeyName(user);
  const dry = options.dryRun ?? false;
  const result: SetupResult = {
    adminUser: '',
    user,
    keyName,
    dryRun: dry,
    changed: false,
    steps: [],
    keyCreated: false,
  };
  const run: SetupRun = {
    p: new SetupPlatform(options.client, names),
    names,
    options,
    result,
    user,
    keyName,
    dry,
    now: options.now ?? (() => new Date()),
    userExists: false,
    change: async (detailDone, detailPlanned, write) => {
      if (dry) return { status: 'planned' as const, detail: detailPlanned };
      await write();
      return { status: 'done' as const, detail: detailDone };
    },
  };
  const steps: StepDef[] = [
    ...accountSteps(run),
    ...grantSteps(run),
    ...(options.bindPolicy ? [bindPolicyStep(run, options.bindPolicy)] : []),
  ];
  if (options.template) {
    const t = options.template;
    steps.push({
      id: 'template',
      title: `Thing Template ${t.name}`,
      run: () => templateStep(t, dry ? undefined : result.appKey),
    });
  }
  await runSteps(steps, result, options.onStep);
  return result;
}

/** What the steps share: the platform, the names, the result being built. */
interface SetupRun {
  p: SetupPlatform;
  names: SetupNames;
  options: SetupOptions;
  result: SetupResult;
  user: string;
  keyName: string;
  dry: boolean;
  now: () => Date;
  /** Whether the connector user exists (known after the user step). */
  userExists: boolean;
  /** A write: done (with `detailDone`), or in a dry run only planned. */
  change: (
    detailDone: string,
    detailPlanned: string,
    write: () => Promise<void>,
  ) => Promise<{ status: 'planned' | 'done'; detail: string }>;
}

/** The administrator's credentials, the connector user and its application key. */
function accountSteps(run: SetupRun): StepDef[] {
  const { p, result, user, keyName, dry, options } = run;
  return [
    {
      id: 'admin',
      title: 'Administrator credentials',
      run: async () => {
        result.adminUser = await p.currentUser();
        const groups = await p.currentUserGroups();
        const note =
          groups && !groups.includes('Administrators')
            ? '; not in the Administrators group, some steps may be refused'
            : '';
        return { status: 'ok', detail: `accepted (user ${result.adminUser}${note})` };
      },
    },
    {
      id: 'user',
      title: `Connector user ${user}`,
      run: async () => {
        run.userExists = await p.entityExists('User', user);
        if (run.userExists) return { status: 'ok', detail: 'exists, reused' };
        const password = `${randomBytes(24).toString('base64url')}aA1!`;
        const r = await run.change(
          'created (enabled; it signs in with its application key only)',
          'would be created',
          () => p.createUser(user, password, 'ThingPark connector (created by tpx thingworx setup)'),
        );
        if (r.status === 'done') run.userExists = true;
        return r;
      },
    },
    {
      id: 'key',
      title: `Application key ${keyName}`,
      run: async () => {
        const r = await keyStep(p, result, options.keyExpiresAt, run.now(), dry);
        if (!dry) result.appKey = await p.keyId(keyName);
        return r;
      },
    },
  ];
}

/** The guide's rights: collections (visibility, design time) and EntityServices (visibility, services). */
function grantSteps(run: SetupRun): StepDef[] {
  const { p, names, user, change } = run;
  const org = names.organization;
  /** A read about the connector user that may fail in a dry run because the user does not exist yet. */
  const readForUser = async <T>(read: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      if (!run.userExists && isNotFound(err)) return fallback;
      throw err;
    }
  };
  return [
    ...names.collections.map((c) => ({
      id: `visibility:${c}`,
      title: `${c} collection: visibility for the ${org} organization`,
      run: async () => {
        if (hasGrant(await p.collectionRows('Visibility', c), org, 'Organization'))
          return { status: 'ok' as const, detail: 'already set' };
        return change('granted', 'would be granted', () => p.addCollectionVisibility(c, org));
      },
    })),
    ...names.collections.map((c) => ({
      id: `designTime:${c}`,
      title: `${c} collection: design time ${names.designTime.join(' and ')} for ${user}`,
      run: async () => {
        const rows = await p.collectionRows('DesignTime', c);
        const missing = names.designTime.filter((t) => !hasGrant(rows, user, 'User', t));
        if (missing.length === 0) return { status: 'ok' as const, detail: 'already granted' };
        return change(`granted ${missing.join(', ')}`, `would grant ${missing.join(', ')}`, async () => {
          for (const t of missing) await p.addCollectionDesignTime(c, user, t);
        });
      },
    })),
    {
      id: 'visibility:EntityServices',
      title: `EntityServices: visibility for the ${org} organization`,
      run: async () => {
        if (hasGrant(await p.entityVisibilityRows(names.entityServices), org, 'Organization'))
          return { status: 'ok', detail: 'already set' };
        return change('granted', 'would be granted', () => p.addEntityVisibility(names.entityServices, org));
      },
    },
    {
      id: 'runTime:EntityServices',
      title: `EntityServices: ${user} may execute ${names.services.join(', ')}`,
      run: async () => {
        const missing: string[] = [];
        for (const s of names.services) {
          if (!(await readForUser(() => p.serviceAllowed(names.entityServices, s, user), false))) missing.push(s);
        }
        if (missing.length === 0) return { status: 'ok', detail: 'already allowed' };
        return change(`allowed ${missing.join(', ')}`, `would allow ${missing.join(', ')}`, async () => {
          for (const s of missing) await p.allowService(names.entityServices, s, user);
        });
      },
    },
  ];
}

/** The WSCommunicationsSubsystem's Bind Protection Policy, found by its names (or its value) and set. */
function bindPolicyStep(run: SetupRun, target: NonNullable<SetupOptions['bindPolicy']>): StepDef {
  const { p, options } = run;
  return {
    id: 'bindPolicy',
    title: `Bind Protection Policy: ${target === 'last-in-wins' ? 'Last in wins' : 'First in wins'}`,
    run: async () => {
      const found = await p.findBindPolicy(options.bindPolicyNames ?? {});
      if (!found) {
        throw new TpxError(
          'TPX_SETUP_BIND_POLICY',
          'Bind Protection Policy not found in the WSCommunicationsSubsystem configuration.',
          {
            fix: { id: 'setup-bind-policy-names' },
          },
        );
      }
      const value = options.bindPolicyNames?.value ?? bindPolicyValue(found.value, target);
      if (found.value === value) return { status: 'ok', detail: `already ${value}` };
      return run.change(`${found.value} → ${value}`, `would change ${found.value} → ${value}`, () =>
        p.writeBindPolicy(found, value),
      );
    },
  };
}

/** Runs the steps in order, reporting each; the first that fails ends the run with every step so far. */
async function runSteps(steps: StepDef[], result: SetupResult, onStep: SetupOptions['onStep']): Promise<void> {
  for (const [i, def] of steps.entries()) {
    const step: SetupStep = { id: def.id, title: def.title, status: 'planned', detail: '' };
    onStep?.({ ...step, detail: 'running' }, i, steps.length);
    try {
      const r = await def.run();
      step.status = r.status;
      step.detail = r.detail;
    } catch (err) {
      step.status = 'failed';
      const e = stepError(def.title, err);
      const right = e.details?.missingRight;
      step.detail = typeof right === 'string' ? `missing right: ${right}` : e.message;
      result.steps.push(step);
      onStep?.(step, i, steps.length);
      throw new TpxError(e.code, e.message, {
        fix: e.fix,
        cause: err,
        exitCode: e.exitCode,
        details: { ...e.details, steps: result.steps },
      });
    }
    if (step.status === 'done') result.changed = true;
    result.steps.push(step);
    onStep?.(step, i, steps.length);
  }
}
