/**
 * The Thing Template as a ThingWorx entity file for Composer's Import (Import/Export → Import → From File),
 * for users whose key may not create templates. Structure from research/thingworx-rest.md §4.2 (a TW 9.3
 * export and ThingTransformer's generator): <Entities><ThingTemplates><ThingTemplate> with the property
 * definitions in <ThingShape> and a <RemotePropertyBinding> per remote property.
 */
import {
  DEFAULT_TEMPLATE_NAME,
  TEMPLATE_BASE,
  TEMPLATE_DESCRIPTION,
  TEMPLATE_PROPERTIES,
  type TemplateProperty,
} from './template.js';

/** Escapes text for an XML attribute value or text node. */
export function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '');
}

function attrs(a: Record<string, string | number | boolean>): string {
  return Object.entries(a)
    .map(([k, v]) => `${k}="${xmlEscape(String(v))}"`)
    .join(' ');
}

function propertyDefinition(p: TemplateProperty, ordinal: number): string {
  return `          <PropertyDefinition ${attrs({
    name: p.name,
    baseType: p.baseType,
    description: p.description,
    category: '',
    ordinal,
    isLocalOnly: false,
    'aspect.cacheTime': '0.0',
    'aspect.dataChangeType': 'VALUE',
    'aspect.isLogged': p.logged,
    'aspect.isPersistent': true,
    'aspect.isReadOnly': p.readOnly,
    ...(p.remote ? { 'aspect.isRemote': true } : {}),
  })}/>`;
}

function remoteBinding(p: TemplateProperty): string {
  return `      <RemotePropertyBinding ${attrs({
    name: p.name,
    sourceName: p.name,
    pushType: p.pushType,
    pushThreshold: '0.0',
    foldType: 'NONE',
    timeout: 0,
    'aspect.startType': 'useDefaultValue',
  })}/>`;
}

export interface TemplateXmlOptions {
  template?: string;
  /** Version attributes of <Entities>; copy them from an export of the target server when Import refuses. */
  majorVersion?: number;
  minorVersion?: number;
  schemaVersion?: number;
}

export function templateXml(options: TemplateXmlOptions = {}): string {
  const name = options.template ?? DEFAULT_TEMPLATE_NAME;
  const remote = TEMPLATE_PROPERTIES.filter((p) => p.remote);
  return [
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
    `<Entities ${attrs({
      majorVersion: options.majorVersion ?? 9,
      minorVersion: options.minorVersion ?? 3,
      schemaVersion: options.schemaVersion ?? 1130,
      universal: '',
    })}>`,
    '  <ThingTemplates>',
    `    <ThingTemplate ${attrs({
      name,
      baseThingTemplate: TEMPLATE_BASE,
      description: TEMPLATE_DESCRIPTION,
      projectName: '',
      tags: '',
      valueStream: '',
    })}>`,
    '      <PropertyBindings/>',
    '      <RemotePropertyBindings>',
    ...remote.map((p) => `  ${remoteBinding(p)}`),
    '      </RemotePropertyBindings>',
    '      <RemoteServiceBindings/>',
    '      <RemoteEventBindings/>',
    '      <ThingShape>',
    '        <PropertyDefinitions>',
    ...TEMPLATE_PROPERTIES.map((p, i) => propertyDefinition(p, i + 1)),
    '        </PropertyDefinitions>',
    '        <ServiceDefinitions/>',
    '        <ServiceImplementations/>',
    '        <EventDefinitions/>',
    '        <Subscriptions/>',
    '      </ThingShape>',
    '    </ThingTemplate>',
    '  </ThingTemplates>',
    '</Entities>',
    '',
  ].join('\n');
}
