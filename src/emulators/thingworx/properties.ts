/** Property definitions (AddPropertyDefinition's aspects) in the model and in the state file. */
import { BASE_TYPES, type BaseTypeName } from '../../alwayson/codec/types.js';
import type { PropertyDefinitionState } from './state.js';

export interface PropertyDef {
  name: string;
  baseType: BaseTypeName;
  description: string;
  category: string;
  isLogged: boolean;
  isPersistent: boolean;
  isReadOnly: boolean;
  isRemote: boolean;
  remotePropertyName: string;
  pushType: string;
  pushThreshold: number;
  dataChangeType: string;
  dataChangeThreshold: number;
  defaultValue: unknown;
  dataShape: string;
  timeout: number;
}

export function isBaseType(name: string): name is BaseTypeName {
  return Object.hasOwn(BASE_TYPES, name);
}

export function propertyDef(s: PropertyDefinitionState): PropertyDef {
  const baseType = String(s.baseType).toUpperCase();
  return {
    name: s.name,
    baseType: isBaseType(baseType) ? baseType : 'STRING',
    description: s.description ?? '',
    category: s.category ?? '',
    isLogged: s.isLogged ?? false,
    isPersistent: s.isPersistent ?? false,
    isReadOnly: s.isReadOnly ?? false,
    isRemote: s.isRemote ?? false,
    remotePropertyName: s.remotePropertyName ?? (s.isRemote ? s.name : ''),
    pushType: s.pushType ?? (s.isRemote ? 'VALUE' : ''),
    pushThreshold: s.pushThreshold ?? 0,
    dataChangeType: s.dataChangeType ?? 'VALUE',
    dataChangeThreshold: s.dataChangeThreshold ?? 0,
    defaultValue: s.defaultValue,
    dataShape: s.dataShape ?? '',
    timeout: s.timeout ?? 0,
  };
}

export function propertyDefState(p: PropertyDef): PropertyDefinitionState {
  const s: PropertyDefinitionState = { name: p.name, baseType: p.baseType };
  if (p.description) s.description = p.description;
  if (p.category) s.category = p.category;
  if (p.isLogged) s.isLogged = true;
  if (p.isPersistent) s.isPersistent = true;
  if (p.isReadOnly) s.isReadOnly = true;
  if (p.isRemote) {
    s.isRemote = true;
    s.remotePropertyName = p.remotePropertyName;
    s.pushType = p.pushType;
    if (p.pushThreshold) s.pushThreshold = p.pushThreshold;
  }
  if (p.dataChangeType !== 'VALUE') s.dataChangeType = p.dataChangeType;
  if (p.dataChangeThreshold) s.dataChangeThreshold = p.dataChangeThreshold;
  if (p.defaultValue !== undefined) s.defaultValue = p.defaultValue;
  if (p.dataShape) s.dataShape = p.dataShape;
  if (p.timeout) s.timeout = p.timeout;
  return s;
}
