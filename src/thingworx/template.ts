/**
 * The Actility Thing Template tpx needs: its name, base and properties, defined once here. The bridge, the
 * emulator's scenarios, `tpx thingworx check` and `tpx thingworx import-template` all use these names.
 *
 * Every property the bridge pushes (UpdateSubscribedPropertyValues over AlwaysOn) is remote-bound, as in
 * Actility's own template (uplinkData is remote in their screenshots); `downlink` is remote and writable: a
 * write on it is forwarded to the bridge, which sends the downlink.
 */
import type { PropertyDefinition, PropertyDefinitionInput } from './types.js';

export { DEFAULT_TEMPLATE_NAME } from './template-name.js';
export const TEMPLATE_BASE = 'RemoteThing';
export const TEMPLATE_DESCRIPTION = 'Actility ThingPark LoRaWAN device (tpx)';

/** Property names, keyed like the bridge's PROPS. */
export const TEMPLATE_PROPERTY_NAMES = {
  uplinkData: 'uplinkData',
  downlink: 'downlink',
  devEui: 'DevEUI',
  lastUplinkTime: 'lastUplinkTime',
  fport: 'FPort',
  fcntUp: 'FCntUp',
  payloadHex: 'payloadHex',
  rssi: 'RSSI',
  snr: 'SNR',
  spreadingFactor: 'spreadingFactor',
  downlinkStatus: 'downlinkStatus',
} as const;

export interface TemplateProperty {
  name: string;
  baseType: 'JSON' | 'STRING' | 'NUMBER' | 'DATETIME';
  description: string;
  logged: boolean;
  remote: boolean;
  readOnly: boolean;
  pushType: 'ALWAYS' | 'VALUE' | 'NEVER';
}

function p(
  name: string,
  baseType: TemplateProperty['baseType'],
  description: string,
  o: Partial<Pick<TemplateProperty, 'logged' | 'readOnly' | 'pushType'>> = {},
): TemplateProperty {
  return {
    name,
    baseType,
    description,
    logged: o.logged ?? false,
    remote: true,
    readOnly: o.readOnly ?? true,
    pushType: o.pushType ?? 'ALWAYS',
  };
}

const N = TEMPLATE_PROPERTY_NAMES;

/** The properties, in the order they are created and exported. */
export const TEMPLATE_PROPERTIES: readonly TemplateProperty[] = [
  p(N.uplinkData, 'JSON', 'Latest uplink (DevEUI_uplink document), logged for history', { logged: true }),
  p(N.downlink, 'JSON', 'Write a DevEUI_downlink document here to send a downlink', {
    readOnly: false,
    pushType: 'NEVER',
  }),
  p(N.devEui, 'STRING', 'Device EUI'),
  p(N.lastUplinkTime, 'DATETIME', 'Time of the latest uplink'),
  p(N.fport, 'NUMBER', 'LoRaWAN port of the latest uplink'),
  p(N.fcntUp, 'NUMBER', 'Uplink frame counter'),
  p(N.payloadHex, 'STRING', 'Payload of the latest uplink, hex'),
  p(N.rssi, 'NUMBER', 'RSSI of the latest uplink (dBm)'),
  p(N.snr, 'NUMBER', 'SNR of the latest uplink (dB)'),
  p(N.spreadingFactor, 'NUMBER', 'Spreading factor of the latest uplink'),
  p(N.downlinkStatus, 'JSON', 'Status of the latest downlink'),
];

/** The inputs of AddPropertyDefinition for one template property. */
export function addPropertyInput(prop: TemplateProperty): PropertyDefinitionInput {
  return {
    name: prop.name,
    type: prop.baseType,
    description: prop.description,
    readOnly: prop.readOnly,
    persistent: true,
    logged: prop.logged,
    dataChangeType: 'VALUE',
    remote: prop.remote,
    remotePropertyName: prop.name,
    pushType: prop.pushType,
  };
}

export interface TemplateComparison {
  /** Properties tpx needs that the template lacks. */
  missing: TemplateProperty[];
  /** Present with another base type (tpx cannot fix these without deleting data). */
  wrongType: { name: string; expected: string; actual: string }[];
  /** Present and matching. */
  present: string[];
}

/** Compares the template's property definitions with those tpx needs (names are case-sensitive). */
export function compareTemplate(existing: PropertyDefinition[]): TemplateComparison {
  const byName = new Map(existing.map((d) => [d.name, d]));
  const out: TemplateComparison = { missing: [], wrongType: [], present: [] };
  for (const prop of TEMPLATE_PROPERTIES) {
    const d = byName.get(prop.name);
    if (!d) out.missing.push(prop);
    else if (d.baseType && d.baseType.toUpperCase() !== prop.baseType)
      out.wrongType.push({ name: prop.name, expected: prop.baseType, actual: d.baseType });
    else out.present.push(prop.name);
  }
  return out;
}
