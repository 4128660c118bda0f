/**
 * The ThingWorx emulator's starting state for the sandbox: a platform set up exactly as the Actility guide says
 * (a dedicated user `tpx-connector` whose key has Create and Read on Things and ThingTemplates, Composer
 * visibility, ServiceInvoke on CreateThing, CreateThingTemplate and GetEntityList), an administrator's key, and
 * "Last in wins". The Thing Template is not in it: the sandbox imports it through REST, as a user would.
 */
import { randomBytes } from 'node:crypto';
import type { EmulatorState } from '../../emulators/thingworx/index.js';

export const CONNECTOR_USER = 'tpx-connector';
export const CONNECTOR_KEY_NAME = 'tpx-connector-key';
export const ADMIN_KEY_NAME = 'tpx-sandbox-admin-key';

export interface SandboxKeys {
  connectorKey: string;
  adminKey: string;
}

export function newKeys(): SandboxKeys {
  const id = () =>
    randomBytes(16)
      .toString('hex')
      .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
  return { connectorKey: id(), adminKey: id() };
}

export function sandboxState(keys: SandboxKeys, now = Date.now()): EmulatorState {
  const inAYear = new Date(now + 365 * 86_400_000).toISOString();
  const user = { principal: CONNECTOR_USER, principalType: 'User' as const };
  const designTime = [
    { ...user, type: 'Create' as const, allow: true },
    { ...user, type: 'Read' as const, allow: true },
  ];
  const invoke = (resource: string) => ({ ...user, resource, type: 'ServiceInvoke' as const, allow: true });
  return {
    version: 1,
    description: 'tpx sandbox: set up as the Actility guide says; the template is imported at start.',
    users: [{ name: CONNECTOR_USER, groups: [] }],
    appKeys: [
      { name: CONNECTOR_KEY_NAME, keyId: keys.connectorKey, user: CONNECTOR_USER, expiresAt: inAYear },
      { name: ADMIN_KEY_NAME, keyId: keys.adminKey, user: 'Administrator', expiresAt: inAYear },
    ],
    defaultAppKey: CONNECTOR_KEY_NAME,
    permissions: {
      collections: {
        Things: { visibility: ['Composer'], designTime },
        ThingTemplates: { visibility: ['Composer'], designTime },
      },
      entities: {
        'Resources/EntityServices': {
          visibility: ['Composer'],
          runTime: [invoke('CreateThing'), invoke('CreateThingTemplate'), invoke('GetEntityList')],
        },
      },
    },
    subsystem: { bindProtectionPolicy: 'last-in-wins' },
  };
}
