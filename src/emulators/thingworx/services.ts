/** Registers every emulated service with the platform core. */
import type { Platform } from './platform.js';
import { currentSessionServices, entityServices } from './services-entity.js';
import { templateServices, thingServices } from './services-things.js';

export function registerServices(p: Platform): void {
  p.register('Things', thingServices);
  p.register('ThingTemplates', templateServices);
  p.register('Resources/EntityServices', entityServices);
  p.register('Resources/CurrentSessionInfo', currentSessionServices);
}
