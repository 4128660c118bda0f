/**
 * Words for the HTTP helper's typed errors (src/util/http.ts): one line what failed, from the error's data
 * (service, host, operation, timeoutMs), and one line what to do, naming the flag and TPX_* variable of the setting
 * concerned (config/keys.ts). Light: loaded with app.ts.
 */
import { settingKey } from '../config/keys.js';
import type { TpxError } from '../errors.js';
import { formatDuration } from '../util/duration.js';

const CA_OF: Record<string, string> = {
  thingparkUrl: 'thingparkCa',
  thingparkTokenUrl: 'thingparkCa',
  thingparkDownlinkUrl: 'thingparkCa',
  thingworxUrl: 'thingworxCa',
};

function named(key: string | undefined): string | undefined {
  const meta = key ? settingKey(key) : undefined;
  return meta ? `${meta.flag} / ${meta.env}` : undefined;
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The message and fix of an HTTP failure, or undefined when the error is not one. */
export function describeHttpError(err: TpxError): { message: string; fix: string } | undefined {
  const d = (err.details ?? {}) as Record<string, unknown>;
  const service = typeof d.service === 'string' ? d.service : undefined;
  const host = typeof d.host === 'string' ? d.host : undefined;
  if (!service || !host) return undefined;
  const setting = typeof d.setting === 'string' ? d.setting : undefined;
  const url = named(setting);
  const op = typeof d.operation === 'string' ? ` (${d.operation})` : '';
  const timeout = named('timeout');
  if ((err.code === 'TPX_HTTP_TIMEOUT' || err.code === 'TPX_TWX_TIMEOUT') && typeof d.timeoutMs === 'number') {
    return {
      message: `${capital(service)} at ${host} did not answer within ${formatDuration(d.timeoutMs)}${op}.`,
      fix: `Check that ${host} is up and reachable from here, or wait longer with ${timeout} (e.g. 2m).`,
    };
  }
  if (err.code === 'TPX_HTTP_NOT_TLS') {
    return {
      message: `${capital(service)} at ${host} does not speak TLS: a plain-HTTP server answered the https:// URL${op}.`,
      fix: `Use http://${host} if it is a local emulator, otherwise check the port of the URL${url ? ` (${url})` : ''}.`,
    };
  }
  if (err.code === 'TPX_HTTP_CERTIFICATE') {
    const ca = named(setting ? CA_OF[setting] : undefined);
    return {
      message: `The certificate of ${service} at ${host} is not trusted (${String(d.errno ?? 'certificate error')})${op}.`,
      fix: `Give the CA that signed it (a PEM file)${ca ? ` with ${ca}` : ''}; verification stays on.`,
    };
  }
  if (err.code === 'TPX_HTTP_UNREACHABLE') {
    return {
      message: `Cannot reach ${service} at ${host} (${String(d.errno ?? 'no answer')})${op}.`,
      fix: `Check the URL${url ? ` (${url})` : ''} and the network.`,
    };
  }
  return undefined;
}
