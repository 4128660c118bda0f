/** Registers every emulated service with the platform core. */
import { type Platform, RESOURCES, SUBSYSTEMS } from './platform.js';
import { currentSessionServices, entityServices } from './services-entity.js';
import {
  applicationKeyServices,
  collectionFunctions,
  entityPermissionServices,
  userServices,
} from './services-security.js';
import { subsystemServices } from './services-subsystem.js';
import { templateServices, thingServices } from './services-things.js';

export function registerServices(p: Platform): void {
  const specific: Record<string, Record<string, import('./platform.js').Service>> = {
    Things: thingServices,
    ThingTemplates: templateServices,
    Users: userServices,
    ApplicationKeys: applicationKeyServices,
    'Resources/EntityServices': entityServices,
    'Resources/CurrentSessionInfo': currentSessionServices,
    'Resources/CollectionFunctions': collectionFunctions,
    'Resources/SecurityServices': {},
    'Subsystems/WSCommunicationsSubsystem': subsystemServices,
  };
  const keys = [
    'Things',
    'ThingTemplates',
    'Users',
    'ApplicationKeys',
    ...RESOURCES.map((r) => `Resources/${r}`),
    ...SUBSYSTEMS.map((s) => `Subsystems/${s}`),
  ];
  for (const key of keys) {
    p.register(key, entityPermissionServices(key.split('/')[0]!));
    p.register(key, specific[key] ?? {});
  }
}
