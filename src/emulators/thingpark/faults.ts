/**
 * The emulator's request handler: records every request, applies injected faults (optionally after carrying the
 * request out: a lost answer), then dispatches through the route table; ApiErrors become `{code, message}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type EmulatorState, findRoute, IOTFLOW, readBody, send } from './routes.js';
import { ApiError } from './store.js';

export interface Fault {
  status: number;
  /** How many matching requests fail (default 1). */
  count?: number;
  method?: string;
  /** Substring of the request path. */
  path?: string;
  body?: unknown;
  /** Carry the request out, then answer with the failure (a lost answer). */
  afterHandling?: boolean;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
}

/** The server's request listener over one state, the pending faults and the request log. */
export function requestHandler(
  state: EmulatorState,
  faults: Fault[],
  requests: RequestRecord[],
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  /** Injected faults first (optionally after carrying the request out), then the route table. */
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://emulator').pathname;
    res.on('finish', () => requests.push({ method, path, status: res.statusCode }));
    const fault = faults.find((f) => (!f.method || f.method === method) && (!f.path || path.includes(f.path)));
    if (!fault) return route(req, res);
    fault.count = (fault.count ?? 1) - 1;
    if (fault.count <= 0) faults.splice(faults.indexOf(fault), 1);
    if (fault.afterHandling) {
      // The request is carried out, but the client sees the failure (an answer lost on the way back).
      const sink = { headersSent: false, writeHead: () => sink, end: () => undefined, destroy: () => undefined };
      await route(req, sink as unknown as ServerResponse);
    } else {
      await readBody(req).catch(() => '');
    }
    send(res, fault.status, fault.body ?? { code: fault.status, message: `Injected failure (HTTP ${fault.status})` });
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    try {
      const { route: r, params } = findRoute(method, url.pathname);
      await r.handle({ req, res, url, method, params, state });
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof ApiError) {
        // IoT Flow words its codes "com-4004"; DX Core uses numbers.
        const code = url.pathname.startsWith(IOTFLOW)
          ? `com-${Math.floor(err.status / 100)}0${String(err.status % 100).padStart(2, '0')}`
          : err.code;
        return send(res, err.status, { code, message: err.message });
      }
      send(res, 500, { code: 25, message: 'unknown error' });
    }
  };
  return handle;
}
