/**
 * The ingest endpoint: takes what ThingPark's tunnel posts (DevEUI_uplink, DevEUI_notification,
 * DevEUI_downlink_Sent, DevEUI_location; typed or untyped JSON), checks it, and answers 2xx only once the report
 * is in the spool. Bad input gets a 4xx with a JSON reason and changes nothing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseRawQuery } from '../thingpark/tunnel.js';
import { formatDuration } from '../util/duration.js';
import type { BridgeEvents, RejectReason } from './events.js';
import type { AcceptResult, RawRequest } from './intake.js';
import { type ReportCodec, ReportError, type TunnelQuery, type TunnelReport } from './ports.js';
import { QueueUnavailableError } from './queue.js';

export interface IngestOptions {
  asId?: string;
  asKey?: string;
  /** false only when the user explicitly turned token verification off. */
  verifyTokens: boolean;
  /** Largest accepted |now - Time| in ms; 0 turns the check off. */
  maxTimeSkewMs: number;
  maxBodyBytes: number;
}

export type { AcceptResult } from './intake.js';

/** Deepest nesting of objects and arrays a report may have; deeper documents are refused before any work. */
export const MAX_DOCUMENT_DEPTH = 32;

/** True when the JSON text nests objects/arrays deeper than `max` (a linear scan, no recursion). */
export function nestedDeeperThan(text: string, max: number): boolean {
  // a text with at most `max` opening brackets cannot nest deeper (a report has a handful): count them natively
  let opening = 0;
  for (let i = text.indexOf('{'); i >= 0 && opening <= max; i = text.indexOf('{', i + 1)) opening += 1;
  for (let i = text.indexOf('['); i >= 0 && opening <= max; i = text.indexOf('[', i + 1)) opening += 1;
  if (opening <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \\ */) i += 1;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth -= 1;
  }
  return false;
}

/** Thrown by the accept callback when the spool is full or the bridge is stopping. */
export class UnavailableError extends Error {
  constructor(
    readonly reason: 'spool_full' | 'stopping',
    message: string,
  ) {
    super(message);
  }
}

const STATUS: Record<RejectReason, number> = {
  bad_json: 400,
  bad_document: 400,
  bad_hex: 400,
  bad_token: 401,
  missing_token: 401,
  stale_time: 401,
  too_deep: 400,
  too_large: 413,
  content_type: 415,
  method: 405,
  not_found: 404,
  spool_full: 503,
  spool_unwritable: 503,
  stopping: 503,
};

export function sendJson(res: ServerResponse, status: number, body: unknown, close = false): void {
  sendText(res, status, JSON.stringify(body), close);
}

/** A JSON text as the answer; headers as a flat list (Node handles it with less work than an object). */
function sendText(res: ServerResponse, status: number, text: string, close = false): void {
  const headers = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(text))];
  if (close) headers.push('connection', 'close');
  res.writeHead(status, headers);
  res.end(text);
}

export class Ingest {
  constructor(
    private readonly options: IngestOptions,
    private readonly codec: ReportCodec,
    private readonly events: BridgeEvents,
    private readonly accept: (report: TunnelReport, raw: RawRequest) => Promise<AcceptResult>,
    private readonly now: () => number = Date.now,
  ) {}

  reject(res: ServerResponse, reason: RejectReason, message: string, devEui?: string, close = false): void {
    const status = STATUS[reason];
    this.events.emit('uplink.rejected', { reason, status, message, devEui });
    sendJson(res, status, { error: reason, message }, close);
  }

  /** Serves one POST; `query` is the raw query string (without `?`). */
  handle(req: IncomingMessage, res: ServerResponse, query: string): void {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      this.reject(res, 'method', `Method ${req.method} is not allowed here; ThingPark posts reports.`);
      req.resume();
      return;
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json' && !type.endsWith('+json')) {
      this.reject(
        res,
        'content_type',
        `Content-Type ${type || '(none)'} is not supported; send application/json (set the connection's content type to JSON).`,
      );
      req.resume();
      return;
    }
    const max = this.options.maxBodyBytes;
    const declared = Number(req.headers['content-length'] ?? -1);
    if (declared > max) {
      this.reject(res, 'too_large', `Body of ${declared} bytes exceeds the limit of ${max} bytes.`, undefined, true);
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let aborted = false;
    req.on('data', (c: Buffer) => {
      if (aborted) return;
      size += c.length;
      if (size > max) {
        aborted = true;
        this.reject(res, 'too_large', `Body exceeds the limit of ${max} bytes.`, undefined, true);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (aborted) return;
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      this.process(text, query, res);
    });
    req.on('error', () => {
      aborted = true;
    });
  }

  private process(text: string, rawQuery: string, res: ServerResponse): void {
    if (nestedDeeperThan(text, MAX_DOCUMENT_DEPTH)) {
      this.events.emit('uplink.received', { kind: 'unknown' });
      this.reject(res, 'too_deep', `The document nests deeper than ${MAX_DOCUMENT_DEPTH} levels.`);
      return;
    }
    const query = parseRawQuery(rawQuery);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      this.events.emit('uplink.received', { kind: 'unknown' });
      this.reject(res, 'bad_json', `Body is not valid JSON: ${(err as Error).message}`);
      return;
    }
    let report: TunnelReport;
    try {
      report = this.codec.parse(body);
    } catch (err) {
      this.events.emit('uplink.received', { kind: 'unknown' });
      if (err instanceof ReportError) this.reject(res, err.reason, err.message);
      else this.reject(res, 'bad_document', (err as Error).message);
      return;
    }
    this.events.emit('uplink.received', { kind: report.kind, devEui: report.devEui });
    const problem = this.check(report, query);
    if (problem) {
      this.reject(res, problem[0], problem[1], report.devEui);
      return;
    }
    this.accept(report, { document: text, query: rawQuery, params: query }).then(
      (r) => {
        // the answer of every uplink: its text written directly (JSON.stringify of the same)
        if (r.status === 'accepted') sendText(res, 202, `{"status":"accepted","seq":${r.seq}}`);
        else sendText(res, 200, '{"status":"duplicate"}');
      },
      (err: unknown) => {
        if (err instanceof UnavailableError) {
          res.setHeader('retry-after', '1');
          this.reject(res, err.reason, err.message, report.devEui);
        } else if (err instanceof QueueUnavailableError) {
          res.setHeader('retry-after', err.reason === 'full' ? '1' : '5');
          this.reject(res, err.reason === 'full' ? 'spool_full' : 'spool_unwritable', err.message, report.devEui);
        } else {
          this.events.emit('error', { where: 'spool', error: (err as Error).message });
          sendJson(res, 500, { error: 'spool_error', message: 'The report could not be stored; retry.' });
        }
      },
    );
  }

  private check(report: TunnelReport, query: TunnelQuery): [RejectReason, string] | undefined {
    const o = this.options;
    if (o.verifyTokens) {
      if (!query.Token || !query.AS_ID || !query.Time) {
        return ['missing_token', 'AS_ID, Time and Token query parameters are required (token verification is on).'];
      }
      const r = this.codec.verify(report, query, o.asKey ?? '', o.asId);
      if (!r.ok) return [r.reason, r.message];
    }
    if (o.maxTimeSkewMs > 0) {
      const qTime = query.Time?.replace(/ (\d\d:?\d\d)$/, '+$1');
      const t = qTime ? Date.parse(qTime) : report.late ? Number.NaN : report.timeMs;
      if (qTime && Number.isNaN(t)) return ['stale_time', `Time ${qTime} is not an ISO 8601 time.`];
      if (!Number.isNaN(t) && Math.abs(this.now() - t) > o.maxTimeSkewMs) {
        return [
          'stale_time',
          `Time ${qTime ?? report.time} is more than ${formatDuration(o.maxTimeSkewMs)} away from now.`,
        ];
      }
    }
    return undefined;
  }
}
