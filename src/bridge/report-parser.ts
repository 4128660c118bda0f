/**
 * The bridge's report parser: the one tunnel document parser (thingpark/messages.ts, which has its own fast path
 * for well-formed uplinks) mapped to the report the bridge routes, and the token check (thingpark/tunnel.ts).
 */
import { parseTunnelMessage, TunnelMessageError } from '../thingpark/messages.js';
import { verifyUplinkDetailed } from '../thingpark/tunnel.js';
import { type ReportCodec, ReportError, type TokenCheck, type TunnelQuery, type TunnelReport } from './ports.js';

export function tunnelReportCodec(): ReportCodec {
  return {
    parse(body: unknown): TunnelReport {
      let m: ReturnType<typeof parseTunnelMessage>;
      try {
        m = parseTunnelMessage(body);
      } catch (err) {
        if (err instanceof TunnelMessageError) {
          throw new ReportError(/(payload_hex|mic_hex)$/.test(err.field) ? 'bad_hex' : 'bad_document', err.message);
        }
        throw new ReportError('bad_document', String(err));
      }
      const base = {
        devEui: m.devEui,
        time: m.time,
        timeMs: m.timestamp,
        customerId: m.customerId,
        document: body as Record<string, unknown>,
      };
      switch (m.kind) {
        case 'uplink':
          return {
            kind: 'uplink',
            ...base,
            fport: m.fPort,
            fcntUp: m.fCntUp,
            fcntDn: m.fCntDn,
            payloadHex: m.payloadHex,
            rssi: m.rssi,
            snr: m.snr,
            lrrId: m.lrrId,
            lrrs: m.lrrs, // the parser's own list (its entries carry lrrId, rssi and snr, and esp besides)
            spreadingFactor: m.spFact,
            late: m.late,
          };
        case 'downlinkSent':
          return {
            kind: 'downlink_sent',
            ...base,
            fport: m.fPort,
            fcntDn: m.fCntDn,
            correlationId: m.correlationId,
            deliveryStatus: m.deliveryStatus,
            deliveryFailedCause: m.deliveryFailedCauses.join(',') || undefined,
          };
        case 'notification':
          return { kind: 'notification', ...base, notificationType: m.type };
        case 'location':
          return { kind: 'location', ...base };
      }
    },
    verify(report: TunnelReport, query: TunnelQuery, asKey: string, asId?: string): TokenCheck {
      const r = verifyUplinkDetailed({ body: report.document, query, asKey, asId });
      if (r.ok) return { ok: true };
      const missing = r.reason === 'missing-token' || r.reason === 'missing-as-id' || r.reason === 'missing-time';
      return {
        ok: false,
        reason: missing ? 'missing_token' : 'bad_token',
        message: `Token check failed: ${r.message}.`,
      };
    },
  };
}
