/**
 * The report queue: where ingest puts what ThingPark posted, and where delivery takes it from. The SQLite spool
 * (spool.ts) implements it for one bridge; a broker-backed queue (RabbitMQ) implements the same contract so that
 * several bridges can share the work by DevEUI.
 *
 * ## Contract (every implementation keeps it)
 *
 * **What is stored.** A report is kept exactly as ThingPark sent it: the tunnel document's text (the HTTP body,
 * byte for byte as received, UTF-8) and the raw query string (`LrnDevEui=…&AS_ID=…&Time=…&Token=…`, without the
 * `?`, not decoded), plus the facts ingest derived from them that routing needs: the upper-case DevEUI, the
 * report kind and the time it was received. Consumers parse the document again with the one report parser
 * (report-parser.ts); nothing else about the report is stored, so stored reports never depend on an internal
 * model and survive upgrades of tpx.
 *
 * **append() resolving is a promise to ThingPark.** When the promise of `append` resolves, the report is durable:
 * it survives a crash of this process (and, for the SQLite spool with durability 'full', a power cut; for a
 * broker, the broker confirmed the publish). Only then does ingest answer 2xx. When the queue cannot make that
 * promise it rejects with a {@link QueueUnavailableError} (`full`: too many reports waiting; `storage`: the
 * storage cannot be written now, e.g. a full disk or a broker down). Ingest answers those with 503 + Retry-After,
 * and ThingPark retries. `append` never resolves for a report that is not stored.
 *
 * **take() hands out reports in order.** `take(max)` resolves with up to `max` reports that were not handed out
 * before in this process, in append order. Per device (DevEUI), order is append order: a report is never handed
 * out before an earlier report of the same device. An empty array means nothing is waiting now; `onAvailable`
 * tells when it is worth calling `take` again (reports appended elsewhere: another process, another bridge, a
 * dead-letter replay).
 *
 * **At least once.** A report handed out stays stored until `ack(seq)` (delivered) or `deadLetter(seq, reason)`
 * (failed for good) is called for it. When the process ends before that (crash, SIGKILL, stop), the report is
 * handed out again by the next `take` after reopening (or to another bridge): delivery is at least once, and a
 * duplicate push can happen only for a report whose ack was not yet stored.
 *
 * **Health is a fact.** `health()` says whether an append could be stored now, why not, and the free bytes of the
 * storage where known. /readyz and /metrics read it; a queue that cannot write says `writable: false` until it can
 * again (it recovers by itself, e.g. when disk space returns).
 */
import type { ReportKind } from './events.js';

/** A report as ThingPark sent it, with the routing facts ingest derived. */
export interface NewReport {
  /** Upper-case DevEUI (16 hex digits). */
  devEui: string;
  kind: ReportKind;
  /** When ingest received it (epoch milliseconds). */
  receivedAt: number;
  /** The tunnel document's text as received (the HTTP body). */
  document: string;
  /** The raw query string as received, without `?` (percent escapes kept); '' when there was none. */
  query: string;
}

/** A stored report; `seq` identifies it for ack and deadLetter (increasing in append order within a queue). */
export interface StoredReport extends NewReport {
  seq: number;
}

export type QueueUnavailableReason = 'full' | 'storage';

/** Thrown (rejected) by `append` when the report could not be stored now; nothing was stored. */
export class QueueUnavailableError extends Error {
  readonly code: 'TPX_QUEUE_FULL' | 'TPX_QUEUE_STORAGE';
  constructor(
    readonly reason: QueueUnavailableReason,
    message: string,
    /** Data: the limit for `full`; the storage's own error text for `storage`. */
    readonly data: { limit?: number; depth?: number; cause?: string } = {},
  ) {
    super(message);
    this.name = 'QueueUnavailableError';
    this.code = reason === 'full' ? 'TPX_QUEUE_FULL' : 'TPX_QUEUE_STORAGE';
  }
}

export interface QueueHealth {
  /** True when an append could be stored now. */
  writable: boolean;
  /** Why not (the storage's error), when not writable. */
  reason?: string;
  /** Free bytes of the storage (the spool's file system), where known. */
  freeBytes?: number;
  /** Reports stored and not yet acked or dead-lettered (by this queue's knowledge). */
  depth: number;
}

export interface ReportQueue {
  /** Stores a report; resolves with its seq once durable. Rejects with QueueUnavailableError when it cannot. */
  append(report: NewReport): Promise<number>;
  /** Up to `max` reports not handed out before, in append order (per device: always). */
  take(max: number): Promise<StoredReport[]>;
  /** Calls `listener` when reports may be waiting that this process did not append (replays, other producers). */
  onAvailable(listener: () => void): void;
  /** The report was delivered: forget it. */
  ack(seq: number): Promise<void>;
  /** The report failed for good: keep it aside with the reason (listed and replayed by the operator). */
  deadLetter(seq: number, reason: string): Promise<void>;
  health(): QueueHealth;
  /** Stores what is pending (acks, dead letters) and releases the storage. */
  close(): Promise<void>;
}
