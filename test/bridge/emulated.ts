/** Both emulators, with the tpx Thing Template installed in the ThingWorx one. */
import type { EmulatorState } from '../../src/emulators/thingworx/index.js';
import { TEMPLATE_PROPERTIES } from '../../src/thingworx/template.js';

export const TEMPLATE = 'actilityThingTemplateSF';

export function templateState(things: string[] = []): EmulatorState {
  return {
    templates: [
      {
        name: TEMPLATE,
        base: 'RemoteThing',
        properties: TEMPLATE_PROPERTIES.map((p) => ({
          name: p.name,
          baseType: p.baseType,
          isLogged: p.logged,
          isPersistent: true,
          isReadOnly: p.readOnly,
          isRemote: p.remote,
          remotePropertyName: p.name,
          pushType: p.pushType,
        })),
      },
    ],
    things: things.map((name) => ({ name, template: TEMPLATE })),
    subsystem: { bindProtectionPolicy: 'last-in-wins' },
  };
}
