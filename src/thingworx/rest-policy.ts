/**
 * The ThingWorx REST client's policies: which URL it accepts (normaliseThingWorxUrl), what it may retry
 * (READ_SERVICES, RETRY_STATUS) and how it reads an answer (parseBody, asInfoTable).
 */
import { ThingWorxError } from './errors.js';
import type { InfoTableJson } from './types.js';

/** Services that only read: safe to retry. */
export const READ_SERVICES = new Set([
  'GetEntityList',
  'GetEntityListByRegEx',
  'GetEntityListWithPermissionMask',
  'GetCurrentUser',
  'GetCurrentUserGroups',
  'GetCurrentUserOrganizations',
  'GetPropertyDefinitions',
  'GetPropertyValues',
  'QueryPropertyHistory',
  'CheckPermission',
  'CheckPermissionForUser',
  'CheckDesignTimePermission',
  'GetPermissionsForCurrentUser',
  'GetDesignTimeCollectionPermissions',
  'GetApplicationKeyExpirationInfo',
  'QueryEndpointSessions',
  'GetBoundThingsForEndpoint',
  'GetConfigurationTables',
  'GetConfigurationTable',
  'IsRemoteThingBound',
  'QueryImplementingThingsOptimized',
  'QueryImplementingThingsOptimizedWithTotalCount',
]);

export const RETRY_STATUS = new Set([502, 503, 504]);

/** Normalises a ThingWorx URL to scheme://host[:port] (no path). Throws a ThingWorxError on a bad URL. */
export function normaliseThingWorxUrl(url: string, allowPlainHttp = false): URL {
  let u: URL;
  try {
    u = new URL(url.includes('://') ? url : `https://${url}`);
  } catch {
    throw new ThingWorxError('TPX_TWX_UNREACHABLE', `"${url}" is not a ThingWorx URL.`, {
      status: 0,
      platformText: '',
      fix: 'Give the platform as https://host:port (e.g. https://twx.example.com:443).',
      details: { setting: 'thingworxUrl', got: url },
    });
  }
  if (u.protocol === 'http:' && !allowPlainHttp) {
    throw new ThingWorxError('TPX_TWX_PLAIN_HTTP', `${u.origin} is plain HTTP: the connector needs TLS.`, {
      status: 0,
      platformText: '',
      fix: 'Ensure that the platform has SSL/TLS enabled and use https://host:port (WSS over TLS v1.2 is mandatory).',
    });
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new ThingWorxError('TPX_TWX_UNREACHABLE', `"${url}" is not an https:// URL.`, {
      status: 0,
      platformText: '',
      fix: 'Give the platform as https://host:port.',
      details: { setting: 'thingworxUrl', got: url },
    });
  }
  return new URL(u.origin);
}

export function parseBody(text: string, contentType: string, label: string): unknown {
  if (text.trim() === '') return { rows: [] };
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ThingWorxError(
      'TPX_TWX_BAD_RESPONSE',
      `ThingWorx answered ${label} with ${contentType || 'a body'} that is not JSON.`,
      {
        status: 200,
        platformText: text.slice(0, 300),
        request: label,
        cause: err,
        fix: 'Check that the URL is the ThingWorx server itself (https://host:port), not a proxy or login page.',
      },
    );
  }
}

/** Accepts an infotable, or wraps anything else as one row (scalar services, odd servers). */
export function asInfoTable(json: unknown): InfoTableJson {
  if (json && typeof json === 'object' && Array.isArray((json as InfoTableJson).rows)) return json as InfoTableJson;
  if (json === undefined || json === null) return { rows: [] };
  return { rows: [{ result: json }] };
}
