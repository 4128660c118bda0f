/**
 * OAuth2 client credentials for ThingPark (research/thingpark.md §2.1): POST the token URL with a form body
 * `grant_type=client_credentials&client_id=…&client_secret=…`, cache the access token and renew it from
 * `expires_in` (minus a margin). invalidate() after a 401 forces a new token.
 */
import type { Dispatcher } from 'undici';
import { TpxError } from '../errors.js';
import { type HttpEvent, httpRequest } from '../util/http.js';

export interface TokenProviderOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  dispatcher?: Dispatcher;
  now?: () => number;
  /** The setting that gave the token URL (errors name it): thingparkTokenUrl, or thingparkUrl when derived. */
  setting?: string;
  /** Total time of a token request (default 30 s). */
  timeoutMs?: number;
  onHttp?: (e: HttpEvent) => void;
  /** Called when a new token is fetched (for --verbose logs; never gets the token itself). */
  onToken?: (info: { expiresIn: number }) => void;
}

/** Lifetime assumed when the server sends no expires_in. */
const DEFAULT_EXPIRES_IN = 60;

export class TokenProvider {
  private token: string | undefined;
  private expiresAt = 0;
  private pending: Promise<string> | undefined;
  private readonly now: () => number;

  constructor(private readonly o: TokenProviderOptions) {
    this.now = o.now ?? Date.now;
  }

  /** A valid access token, fetched when there is none or it is about to expire (by `deadline`, Date.now() ms). */
  async get(deadline?: number): Promise<string> {
    if (this.token && this.now() < this.expiresAt) return this.token;
    this.pending ??= this.fetch(deadline).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Forgets the cached token (after the API answered 401). */
  invalidate(): void {
    this.token = undefined;
    this.expiresAt = 0;
  }

  private async fetch(deadline: number | undefined): Promise<string> {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.o.clientId,
      client_secret: this.o.clientSecret,
    }).toString();
    // A token request creates nothing new on the server: retried like a read.
    const res = await httpRequest({
      method: 'POST',
      url: this.o.tokenUrl,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      dispatcher: this.o.dispatcher,
      timeoutMs: this.o.timeoutMs,
      deadline,
      service: 'the ThingPark token endpoint',
      operation: 'getting an access token',
      setting: this.o.setting ?? 'thingparkTokenUrl',
      retry: { idempotent: true, statuses: new Set([429, 502, 503, 504]) },
      onEvent: this.o.onHttp,
    });
    const status = res.status;
    const text = res.text;
    let json: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object') json = parsed as Record<string, unknown>;
    } catch {
      /* handled below */
    }
    if (status === 400 || status === 401 || status === 403) {
      const why =
        typeof json.error_description === 'string'
          ? json.error_description
          : typeof json.error === 'string'
            ? json.error
            : `HTTP ${status}`;
      throw new TpxError('TPX_THINGPARK_AUTH', `ThingPark refused the client id and secret (${why}).`, {
        fix: { id: 'thingpark-client' },
        details: { status, settings: ['thingparkClientId', 'thingparkClientSecret'] },
      });
    }
    if (status < 200 || status >= 300 || typeof json.access_token !== 'string') {
      throw new TpxError(
        'TPX_THINGPARK_AUTH',
        `The ThingPark token endpoint answered HTTP ${status} without an access token.`,
        {
          fix: 'Check the token URL; try again later if ThingPark is down.',
          details: { status, setting: 'thingparkTokenUrl' },
        },
      );
    }
    const expiresIn =
      typeof json.expires_in === 'number' && json.expires_in > 0
        ? json.expires_in
        : Number(json.expires_in) > 0
          ? Number(json.expires_in)
          : DEFAULT_EXPIRES_IN;
    // Renew a little early: 30 s, or a tenth of the lifetime for short-lived tokens.
    const margin = Math.min(30_000, expiresIn * 100);
    this.token = json.access_token;
    this.expiresAt = this.now() + expiresIn * 1000 - margin;
    this.o.onToken?.({ expiresIn });
    return this.token;
  }
}
