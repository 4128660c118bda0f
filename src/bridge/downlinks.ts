/**
 * Downlinks: a write of a Thing's `downlink` property (a DevEUI_downlink document or `{FPort, payload_hex,
 * Confirmed}`) is validated, answered, then signed and sent through the ThingPark tunnel; the result (queued, or
 * the rejection reason) is written to the Thing's `downlinkStatus`. DevEUI_downlink_Sent reports update it later
 * (delivery.ts pushes those).
 */
import { randomBytes } from 'node:crypto';
import type { TwValue } from '../alwayson/codec/types.js';
import { parseDownlinkDocument, TunnelMessageError } from '../thingpark/messages.js';
import type { BridgeEvents } from './events.js';
import {
  type DownlinkRequest,
  type DownlinkResult,
  type DownlinkSender,
  type PayloadDecoder,
  type PropertyWrite,
  StoppedError,
  type ThingWorxSink,
} from './ports.js';
import { PROPS } from './thing-properties.js';

export class DownlinkWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DownlinkWriteError';
  }
}

/** The text of a property value as written by ThingWorx (JSON, STRING, TEXT...). */
function valueText(v: TwValue): unknown {
  if (v.baseType === 'VARIANT') return valueText(v.value);
  if (v.baseType === 'NOTHING') return undefined;
  if (v.baseType === 'INFOTABLE' || v.baseType === 'LOCATION') return v.value;
  return (v as { value: unknown }).value;
}

/** A downlink request ready to send: validated, with its CorrelationID. */
export type SendableDownlink = DownlinkRequest & { correlationId: string };

/**
 * Validates a written `downlink` value for the Thing `thing` with the one downlink parser (every limit the tunnel
 * applies: FPort, payload size), before the write is answered; throws DownlinkWriteError with the reason.
 */
export function parseDownlinkWrite(thing: string, value: TwValue): SendableDownlink {
  let doc = valueText(value);
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc) as unknown;
    } catch {
      throw new DownlinkWriteError('the downlink value is not JSON');
    }
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new DownlinkWriteError('the downlink value must be a JSON object');
  }
  const o = doc as Record<string, unknown>;
  const inner = 'DevEUI_downlink' in o ? o : { DevEUI_downlink: { DevEUI: thing, ...o } };
  let parsed: ReturnType<typeof parseDownlinkDocument>;
  try {
    parsed = parseDownlinkDocument(inner);
  } catch (err) {
    throw new DownlinkWriteError(err instanceof TunnelMessageError ? err.message : String(err));
  }
  if (parsed.devEui !== thing.toUpperCase()) {
    throw new DownlinkWriteError(`DevEUI ${parsed.devEui} is not this Thing's (${thing})`);
  }
  if (parsed.payloadHex === undefined && !parsed.flushQueue) {
    throw new DownlinkWriteError('a decoded "payload" needs a driver; give payload_hex');
  }
  return { ...parsed, correlationId: parsed.correlationId ?? randomBytes(8).toString('hex').toUpperCase() };
}

/** A ThingPark call under way: the Thing and its request. */
interface Call {
  thing: string;
  req: SendableDownlink;
}

export class Downlinks {
  private readonly inFlight = new Set<Promise<void>>();
  /** The ThingPark calls not answered yet: what the stop abandons at its limit. */
  private readonly calling = new Set<Call>();
  /** Aborted at the stop's limit: the ThingPark calls in flight end at once (with a StoppedError). */
  private readonly stopCtl = new AbortController();

  constructor(
    private readonly sink: ThingWorxSink,
    private readonly sender: DownlinkSender | undefined,
    private readonly events: BridgeEvents,
    private readonly decoder?: PayloadDecoder,
  ) {}

  /** The property-write handler: throws (the write is answered with an error) when the value is not valid. */
  async onWrite(write: PropertyWrite): Promise<void> {
    if (write.property !== PROPS.downlink) {
      throw new DownlinkWriteError(`property ${write.property} is not writable through the bridge`);
    }
    // past the stop's limit nothing more is sent (nobody would wait for ThingPark's answer)
    if (this.stopCtl.signal.aborted) throw new DownlinkWriteError('the bridge is stopping: the downlink was not sent');
    this.events.emit('downlink.received', { thing: write.thing });
    let req: SendableDownlink;
    try {
      const value = this.decoder ? await this.decoder.encodeWrite(write.thing, write.value) : write.value;
      req = parseDownlinkWrite(write.thing, value);
    } catch (err) {
      const reason = (err as Error).message;
      this.events.emit('downlink.invalid', { thing: write.thing, reason });
      this.track(this.status(write.thing, { state: 'invalid', reason }));
      throw err;
    }
    this.track(this.send(write.thing, req));
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async send(thing: string, req: SendableDownlink): Promise<void> {
    if (!this.sender) {
      const reason = 'no ThingPark downlink URL configured';
      this.events.emit('downlink.failed', { thing, error: reason });
      await this.status(thing, { state: 'failed', reason, correlationId: req.correlationId });
      return;
    }
    const call: Call = { thing, req };
    this.calling.add(call);
    let r: DownlinkResult;
    try {
      r = await this.sender.send(req, { signal: this.stopCtl.signal });
    } catch (err) {
      // abandoned by the stop (said by abandon()): its abort is no failure of ThingPark
      if (!this.calling.delete(call)) return;
      const error = (err as Error).message;
      this.events.emit('downlink.failed', { thing, error });
      await this.status(thing, { state: 'failed', reason: error, correlationId: req.correlationId });
      return;
    }
    // an answer after the stop gave up on the call changes nothing: the stop said it abandoned
    if (!this.calling.delete(call)) return;
    if (r.result === 'queued') {
      this.events.emit('downlink.sent', {
        thing,
        fport: req.fPort,
        correlationId: req.correlationId,
        result: 'queued',
      });
      await this.status(thing, { state: 'queued', correlationId: req.correlationId, FPort: req.fPort });
    } else {
      this.events.emit('downlink.sent', {
        thing,
        fport: req.fPort,
        correlationId: req.correlationId,
        result: 'rejected',
        reason: r.reason,
      });
      await this.status(thing, {
        state: 'rejected',
        reason: r.reason,
        ...(r.code !== undefined ? { code: r.code } : {}),
        httpStatus: r.status,
        correlationId: req.correlationId,
      });
    }
  }

  private async status(thing: string, value: Record<string, unknown>): Promise<void> {
    const now = Date.now();
    try {
      await this.sink.push(thing, [
        {
          name: PROPS.downlinkStatus,
          value: { baseType: 'JSON', value: JSON.stringify({ ...value, time: new Date(now).toISOString() }) },
          time: now,
          quality: 'GOOD',
        },
      ]);
    } catch (err) {
      // past the stop's limit the sink is closed under it: cut short by the stop, not a failure of ThingWorx
      if (this.stopCtl.signal.aborted) return;
      this.events.emit('error', { where: 'downlinkStatus', error: (err as Error).message });
    }
  }

  /**
   * Waits for the downlinks being sent and their statuses being written (shutdown), for up to `waitMs`: then the
   * ThingPark calls still in flight are abandoned (abandon()). Resolves true when nothing was left in flight.
   */
  async settle(waitMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (this.inFlight.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const quiet = await Promise.race([
      (async () => {
        while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
        return true;
      })(),
      new Promise<false>((resolve) => {
        if (Number.isFinite(waitMs)) timer = setTimeout(() => resolve(false), Math.max(0, waitMs));
      }),
    ]);
    clearTimeout(timer);
    if (!quiet) this.abandon();
    return quiet;
  }

  /**
   * Gives up on the ThingPark calls in flight (the stop's limit passed): each is aborted and reported once
   * (downlink.abandoned), not as a failure; whatever ThingPark answers later is ignored. Their downlinkStatus says
   * abandoned (written without waiting: the sink closes next), never sent: ThingPark may or may not have queued it.
   */
  abandon(): void {
    if (this.stopCtl.signal.aborted) return;
    const calls = [...this.calling];
    this.calling.clear();
    this.stopCtl.abort(new StoppedError());
    for (const { thing, req } of calls) {
      this.events.emit('downlink.abandoned', { thing, fport: req.fPort, correlationId: req.correlationId });
      void this.status(thing, {
        state: 'abandoned',
        reason: 'the bridge stopped before ThingPark answered: the downlink may or may not be queued',
        correlationId: req.correlationId,
        FPort: req.fPort,
      });
    }
  }
}
