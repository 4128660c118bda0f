/**
 * The fixes tpx gives for ThingWorx set-up problems, in the words of the Actility set-up guide
 * (shared/reference/actility-thingworx-connector-doc.txt). Used by ThingWorxError, `tpx thingworx check`
 * and `tpx explain`, so that one problem always gets the same advice. Advice that names a flag, a TPX_* variable
 * or a tpx command is a PhraseRef: src/cli/phrases.ts words it.
 */
import type { PhraseRef } from '../errors.js';

export const FIX = {
  /** TLS missing or too old. */
  tls: 'Ensure that the platform has SSL/TLS enabled: the connector needs WebSocket Secure (WSS) over TLS v1.2 or newer (HTTPS on the ThingWorx host:port).',
  /** Certificate not trusted. */
  certificate: { id: 'thingworx-ca' } as PhraseRef,
  certificateExpired: 'Renew the ThingWorx server certificate (it is expired or not yet valid).',
  unreachable:
    'Check the host name and port (https://host:port), that ThingWorx is running and that no firewall blocks it.',
  /** Connected, then no answer. */
  silent:
    'Check that ThingWorx answers (is it frozen, overloaded, restarting? see its load and logs) and what sits between (proxy, load balancer), then check again.',
  /** App key rejected. */
  appKey: { id: 'thingworx-app-key' } as PhraseRef,
  appKeyExpiry: 'In Composer → Security → Application Keys, set an Expiration Date in the future on the key, and Save.',
  adminUser:
    'Create a new user different from the Administrator (Composer → Security → Users → New, Enabled checked) and an application key for it.',
  entityServicesVisibility:
    'In Composer → Permissions → Entities, search/select EntityServices, Edit Permissions; on the Visibility tab select the Composer organization and Save.',
  entityServicesRunTime: (services: string[] = ['CreateThing', 'CreateThingTemplate', 'GetEntityList']) =>
    `In Composer → Permissions → Entities → EntityServices → Edit Permissions → Run Time, add ${joinAnd(services)} and allow the user to execute ${services.length === 1 ? 'it' : 'them'}, then Save (check it in Permissions → Access Reports).`,
  collectionsVisibility:
    'In Composer → Permissions → Collections, select Things and Thing Templates, Edit Permissions; on the Visibility tab select the Composer organization and Save.',
  collectionsDesignTime:
    'In Composer → Permissions → Collections, select Things and Thing Templates, Edit Permissions; on the Design Time tab select the user, check at least Create and Read, and Save.',
  template: (template: string): PhraseRef => ({ id: 'import-template', template }),
  lastInWins:
    'On ThingWorx set the option "Last in wins": Subsystems → WSCommunicationsSubsystem → Configuration → Bind Protection Policy, then Save.',
  ghostSessions: { id: 'ghost-sessions' } as PhraseRef,
  bindVisibility:
    'The bind needs visibility of the Things: give the Composer organization Visibility on the Things collection (Composer → Permissions → Collections → Things → Visibility), or turn off "Enable Visibility Permission Check" on the WSCommunicationsSubsystem.',
  urlAppKey:
    'Send the application key in the appKey header, not as a ?appKey= URL parameter (ThingWorx rejects it there).',
  check: { id: 'thingworx-check' } as PhraseRef,
} as const;

export function joinAnd(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
