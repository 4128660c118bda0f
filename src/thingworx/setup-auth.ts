/**
 * HTTP Basic credentials for `tpx thingworx setup --admin-user/--admin-password` (thingworx-rest.md §1.3: the
 * documented alternative to an app key). ThingWorxRest sends an appKey header; this dispatcher replaces it by
 * `Authorization: Basic …` on every request, with the same TLS rules (TLS 1.2 minimum, verification on).
 */
import { Agent, type Dispatcher } from 'undici';
import { TpxError } from '../errors.js';

export function basicAuthDispatcher(
  user: string,
  password: string,
  tls: { ca?: string | Buffer; insecure?: boolean } = {},
): { dispatcher: Dispatcher; close: () => Promise<void> } {
  if (user.includes(':')) {
    throw new TpxError(
      'TPX_USAGE',
      `The user name "${user}" contains ":", which HTTP Basic authentication cannot carry.`,
      { fix: { id: 'admin-key-instead' }, details: { setting: 'thingworxAdminUser', got: user } },
    );
  }
  const authorization = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
  const agent = new Agent({
    connect: { ...(tls.ca ? { ca: tls.ca } : {}), minVersion: 'TLSv1.2', rejectUnauthorized: !tls.insecure },
    connections: 8,
  });
  const dispatcher = agent.compose(
    (dispatch) => (opts, handler) => dispatch({ ...opts, headers: withBasic(opts.headers, authorization) }, handler),
  );
  return { dispatcher, close: () => agent.close() };
}

function withBasic(headers: Dispatcher.DispatchOptions['headers'], authorization: string): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (k: string, v: unknown) => {
    if (k.toLowerCase() === 'appkey' || k.toLowerCase() === 'authorization') return;
    if (v !== undefined && v !== null) out[k] = Array.isArray(v) ? v.join(', ') : String(v);
  };
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) put(String(headers[i]), headers[i + 1]);
  } else if (headers && typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [k, v] of headers as Iterable<[string, unknown]>) put(k, v);
  } else if (headers) {
    for (const [k, v] of Object.entries(headers as Record<string, unknown>)) put(k, v);
  }
  out.Authorization = authorization;
  return out;
}
