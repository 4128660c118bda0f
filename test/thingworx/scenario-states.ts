/**
 * Emulator states for the `tpx thingworx check` scenarios, built from one fully set-up platform (the Actility
 * guide's minimum rights for a dedicated user) with one thing broken each.
 */
import type { EmulatorState } from '../../src/emulators/thingworx/index.js';
import { DEFAULT_TEMPLATE_NAME, TEMPLATE_BASE, TEMPLATE_PROPERTIES } from '../../src/thingworx/template.js';

export const CONNECTOR_KEY = 'tpx-connector-key-0123456789abcdef';
export const ADMIN_KEY = 'tpx-admin-key-0123456789abcdef';

const allow = (principal: string, resource: string) => ({
  principal,
  principalType: 'User' as const,
  resource,
  type: 'ServiceInvoke' as const,
  allow: true,
});

export function fullySetUp(): EmulatorState {
  const collection = {
    visibility: ['Composer'],
    designTime: [
      { principal: 'tpx-connector', principalType: 'User' as const, type: 'Create' as const, allow: true },
      { principal: 'tpx-connector', principalType: 'User' as const, type: 'Read' as const, allow: true },
    ],
  };
  return {
    version: 1,
    users: [{ name: 'tpx-connector', password: 'secret', groups: [] }],
    appKeys: [
      { name: 'tpx-connector-key', keyId: CONNECTOR_KEY, user: 'tpx-connector', expiresAt: '2099-01-01T00:00:00Z' },
      { name: 'admin-key', keyId: ADMIN_KEY, user: 'Administrator', expiresAt: '2099-01-01T00:00:00Z' },
    ],
    defaultAppKey: 'tpx-connector-key',
    permissions: {
      collections: { Things: collection, ThingTemplates: collection },
      entities: {
        'Resources/EntityServices': {
          visibility: ['Composer'],
          runTime: ['CreateThing', 'CreateThingTemplate', 'GetEntityList'].map((s) => allow('tpx-connector', s)),
        },
      },
    },
    templates: [
      {
        name: DEFAULT_TEMPLATE_NAME,
        base: TEMPLATE_BASE,
        owner: 'tpx-connector',
        properties: TEMPLATE_PROPERTIES.map((p) => ({
          name: p.name,
          baseType: p.baseType,
          isLogged: p.logged,
          isRemote: p.remote,
          isReadOnly: p.readOnly,
          remotePropertyName: p.name,
          pushType: p.pushType,
        })),
      },
    ],
    subsystem: { bindProtectionPolicy: 'last-in-wins' },
  };
}

type Mutate = (s: EmulatorState) => void;

function derive(f: Mutate): EmulatorState {
  const s = fullySetUp();
  f(s);
  return s;
}

function entityServicesRights(s: EmulatorState, services: string[]): void {
  s.permissions!.entities!['Resources/EntityServices']!.runTime = services.map((x) => allow('tpx-connector', x));
}

/** One broken thing each; `key` is the key the check uses, `item` the item that must fail (or warn). */
export const SCENARIOS: Record<
  string,
  { state: EmulatorState; key?: string; item: string; status: 'failed' | 'warned'; fix: RegExp; detail?: RegExp }
> = {
  'no-entityservices-visibility': {
    state: derive((s) => {
      s.permissions!.entities!['Resources/EntityServices']!.visibility = [];
    }),
    item: 'get-entity-list',
    status: 'failed',
    detail:
      /Unable to dispatch \[ uri = \/Resources\/EntityServices\/Services\/\w+\/\]: Entity EntityServices does not exist or is not yet associated with a Thing/,
    fix: /Permissions → Entities, search\/select EntityServices.*Visibility tab select the Composer organization/,
  },
  'no-get-entity-list': {
    state: derive((s) => entityServicesRights(s, ['CreateThing', 'CreateThingTemplate'])),
    item: 'get-entity-list',
    status: 'failed',
    detail: /Not authorized for ServiceInvoke on GetEntityList in EntityServices/,
    fix: /Run Time, add GetEntityList and allow the user to execute it/,
  },
  'no-create-thing': {
    state: derive((s) => entityServicesRights(s, ['GetEntityList', 'CreateThingTemplate'])),
    item: 'create-thing',
    status: 'failed',
    detail: /Not authorized for ServiceInvoke on CreateThing in EntityServices/,
    fix: /Run Time, add CreateThing and allow/,
  },
  'no-create-thing-template': {
    state: derive((s) => entityServicesRights(s, ['GetEntityList', 'CreateThing'])),
    item: 'create-thing-template',
    status: 'failed',
    detail: /Not authorized for ServiceInvoke on CreateThingTemplate in EntityServices/,
    fix: /Run Time, add CreateThingTemplate and allow/,
  },
  'no-design-time-create': {
    state: derive((s) => {
      s.permissions!.collections!.Things = { visibility: ['Composer'], designTime: [] };
    }),
    item: 'create-thing',
    status: 'failed',
    fix: /Design Time tab select the user, check at least Create and Read/,
  },
  'no-collection-visibility': {
    state: derive((s) => {
      s.permissions!.collections!.ThingTemplates!.visibility = [];
      s.templates![0]!.owner = 'Administrator';
    }),
    item: 'template',
    status: 'failed',
    detail: /not found \(missing, or not visible/,
    fix: /Visibility tab select the Composer organization/,
  },
  'expired-key': {
    state: derive((s) => {
      s.appKeys![0]!.expiresAt = '2020-01-01T00:00:00Z';
    }),
    item: 'app-key',
    status: 'failed',
    fix: /Expiration Date in the future/,
  },
  'administrator-key': {
    state: fullySetUp(),
    key: ADMIN_KEY,
    item: 'app-key',
    status: 'warned',
    fix: /different from the Administrator/,
  },
  'missing-template': {
    state: derive((s) => {
      s.templates = [];
    }),
    item: 'template',
    status: 'failed',
    fix: /tpx thingworx import-template/,
  },
  'template-missing-property': {
    state: derive((s) => {
      s.templates![0]!.properties = s.templates![0]!.properties!.filter((p) => p.name !== 'downlink');
    }),
    item: 'template',
    status: 'failed',
    detail: /lacks the property downlink/,
    fix: /adds only the missing properties/,
  },
  'plain-http': {
    state: derive((s) => {
      s.transport = { tls: 'plain-http' };
    }),
    item: 'tls',
    status: 'failed',
    fix: /SSL\/TLS enabled/,
  },
  'tls-1.1-only': {
    state: derive((s) => {
      s.transport = { tls: 'tls1.1-only' };
    }),
    item: 'tls',
    status: 'failed',
    detail: /TLS 1\.2 or newer is required/,
    fix: /SSL\/TLS enabled/,
  },
  'first-in-wins-ghost': {
    state: derive((s) => {
      s.subsystem = { bindProtectionPolicy: 'first-in-wins' };
      s.things = [{ name: '0018B20000000B20', template: DEFAULT_TEMPLATE_NAME, owner: 'tpx-connector', enabled: true }];
      s.ghostSessions = [{ appKey: 'admin-key', things: ['0018B20000000B20'] }];
    }),
    key: ADMIN_KEY,
    item: 'ghost-sessions',
    status: 'failed',
    fix: /Close the stale \("ghost"\) sessions/,
  },
};
