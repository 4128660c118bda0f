/**
 * What `tpx thingworx setup` grants, and the platform names it uses to do so.
 *
 * The rights are exactly those of the Actility set-up guide ("Collecting Expected Information on ThingWorx"):
 * Things and ThingTemplates collections: Visibility for the Composer organization and Design Time Create and
 * Read for the user; EntityServices: Visibility for the Composer organization and Run Time ServiceInvoke on
 * CreateThing, CreateThingTemplate and GetEntityList for the user. Nothing more.
 *
 * Service names follow shared/research/thingworx-rest.md §5.3/§5.4/§6.2. Some are UNCONFIRMED on a live server
 * (marked below); every one can be overridden through SetupNames, and the Bind Protection Policy table, field
 * and value through options of the setup command.
 */
export interface SetupNames {
  /** Organization given visibility (the guide: Composer). */
  organization: string;
  /** Collections given visibility + design-time rights. `Things` vs `Thing` is UNCONFIRMED (research §5.3). */
  collections: string[];
  /** Design-time rights on the collections. */
  designTime: string[];
  /** EntityServices services the user may invoke. */
  services: string[];
  /** Entity paths. */
  entityServices: string;
  collectionFunctions: string;
  currentSession: string;
  wsSubsystem: string;
}

export const DEFAULT_SETUP_NAMES: SetupNames = {
  organization: 'Composer',
  collections: ['Things', 'ThingTemplates'],
  designTime: ['Create', 'Read'],
  services: ['CreateThing', 'CreateThingTemplate', 'GetEntityList'],
  entityServices: 'Resources/EntityServices',
  collectionFunctions: 'Resources/CollectionFunctions',
  currentSession: 'Resources/CurrentSessionInfo',
  wsSubsystem: 'Subsystems/WSCommunicationsSubsystem',
};

export const DEFAULT_CONNECTOR_USER = 'tpx-connector';
export const DEFAULT_KEY_EXPIRY = '1y';

/** Default application key name for a user. */
export function defaultKeyName(user: string): string {
  return `${user}-key`;
}

/** How the Bind Protection Policy is stored (UNCONFIRMED on a live server: research §6.2). */
export interface BindPolicyNames {
  /** Configuration table; undefined = find the table holding a "…in wins" value. */
  table?: string;
  /** Field; undefined = the field whose name mentions bind protection or whose value is "…in wins". */
  field?: string;
  /** Value to write; undefined = the current value's spelling with "first" turned into "last". */
  value?: string;
}

export type BindPolicy = 'last-in-wins' | 'first-in-wins';
