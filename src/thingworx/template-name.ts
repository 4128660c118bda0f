/**
 * The name of the Actility Thing Template, written once. A module of its own, with no imports, so that the settings
 * table, the CLI's help texts, the ThingPark connection defaults and the bridge can all name it cheaply.
 */
export const DEFAULT_TEMPLATE_NAME = 'actilityThingTemplateSF';
