/** Prometheus metrics of the payload drivers, registered on the bridge's registry and fed by the decoder's events. */
import { Counter, type Registry } from 'prom-client';
import type { DriverDecoder } from './decoder.js';

export function registerDriverMetrics(decoder: DriverDecoder, registry: Registry): void {
  const decodes = new Counter({
    name: 'tpx_driver_decodes_total',
    help: 'Uplinks decoded by a payload driver, by driver and result (ok, failed)',
    labelNames: ['driver', 'result'],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'tpx_driver_decode_failures_total',
    help: 'Failed uplink decodes by driver and reason (errors, threw, timeout, memory, crashed, bad_output)',
    labelNames: ['driver', 'reason'],
    registers: [registry],
  });
  const restarts = new Counter({
    name: 'tpx_driver_worker_restarts_total',
    help: 'Driver worker threads replaced (a driver looped, ran out of memory or crashed)',
    labelNames: ['reason'],
    registers: [registry],
  });
  decoder.on('decoded', (e) => decodes.inc({ driver: e.driver, result: 'ok' }));
  decoder.on('decode.failed', (e) => {
    decodes.inc({ driver: e.driver, result: 'failed' });
    failures.inc({ driver: e.driver, reason: e.reason });
  });
  decoder.on('worker.replaced', (e) => restarts.inc({ reason: e.reason }));
}
