/**
 * The `tpx thingworx check` scenarios: one emulator state file each, shipped in examples/thingworx/, with the
 * item that must fail (or warn) and the fix the set-up guide gives. The check uses the key each file prints
 * (emu.appKey: its defaultAppKey).
 */
import { join } from 'node:path';
import type { EmulatorState } from '../../src/emulators/thingworx/index.js';
import { loadStateFile } from '../../src/emulators/thingworx/state.js';
import { ROOT } from '../helpers/cli.js';

export const CONNECTOR_KEY = 'tpx-connector-key-0123456789abcdef';
export const ADMIN_KEY = 'tpx-admin-key-0123456789abcdef';

export function stateFile(name: string): string {
  return join(ROOT, 'examples', 'thingworx', `${name}.json`);
}

/** A fresh copy of an example state (tests may change it). */
export function exampleState(name: string): EmulatorState {
  return loadStateFile(stateFile(name));
}

export function fullySetUp(): EmulatorState {
  return exampleState('fully-set-up');
}

export interface Scenario {
  item: string;
  status: 'failed' | 'warned';
  fix: RegExp;
  detail?: RegExp;
}

export const SCENARIOS: Record<string, Scenario> = {
  'no-visibility': {
    item: 'get-entity-list',
    status: 'failed',
    detail:
      /Unable to dispatch \[ uri = \/Resources\/EntityServices\/Services\/GetEntityList\/\]: Entity EntityServices does not exist or is not yet associated with a Thing/,
    fix: /Permissions → Entities, search\/select EntityServices.*Visibility tab select the Composer organization/,
  },
  'no-get-entity-list': {
    item: 'get-entity-list',
    status: 'failed',
    detail: /Not authorized for ServiceInvoke on GetEntityList in EntityServices/,
    fix: /Run Time, add GetEntityList and allow the user to execute it/,
  },
  'no-create-thing': {
    item: 'create-thing',
    status: 'failed',
    detail: /Not authorized for ServiceInvoke on CreateThing in EntityServices/,
    fix: /Run Time, add CreateThing and allow/,
  },
  'no-create-thing-template': {
    item: 'create-thing-template',
    status: 'failed',
    detail: /Not authorized for ServiceInvoke on CreateThingTemplate in EntityServices/,
    fix: /Run Time, add CreateThingTemplate and allow/,
  },
  'no-design-time-create': {
    item: 'create-thing',
    status: 'failed',
    detail: /design-time Create on the Things collection/,
    fix: /Design Time tab select the user, check at least Create and Read/,
  },
  'no-collection-visibility': {
    item: 'template',
    status: 'failed',
    detail: /not found \(missing, or not visible/,
    fix: /Visibility tab select the Composer organization/,
  },
  'expired-key': {
    item: 'app-key',
    status: 'failed',
    detail: /rejected the application key/,
    fix: /Expiration Date in the future/,
  },
  'administrator-key': {
    item: 'app-key',
    status: 'warned',
    detail: /Administrator is an administrator/,
    fix: /different from the Administrator/,
  },
  'missing-template': {
    item: 'template',
    status: 'failed',
    detail: /actilityThingTemplateSF not found/,
    fix: /tpx thingworx import-template/,
  },
  'template-missing-property': {
    item: 'template',
    status: 'failed',
    detail: /lacks the property downlink/,
    fix: /adds only the missing properties/,
  },
  'plain-http': {
    item: 'tls',
    status: 'failed',
    detail: /plain HTTP/,
    fix: /SSL\/TLS enabled/,
  },
  'tls-1.1-only': {
    item: 'tls',
    status: 'failed',
    detail: /only TLSv1\.1: TLS 1\.2 or newer is required/,
    fix: /SSL\/TLS enabled/,
  },
  'first-in-wins-ghost': {
    item: 'ghost-sessions',
    status: 'failed',
    detail: /session\(s\) of key tpx-connector-key hold binds on 2 Thing/,
    fix: /close the stale \("ghost"\) sessions/,
  },
};
