import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TunnelReport } from '../../src/bridge/ports.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'drivers');
/** The example driver of the repository (examples/drivers/climate) is the tests' climate driver: no copy. */
export const CLIMATE = join(import.meta.dirname, '..', '..', 'examples', 'drivers', 'climate');

/** Packs a fixture folder the way `npm pack` lays it out (everything under package/) into a .tgz. */
export function packFixture(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tpx-driver-pack-'));
  cpSync(name === 'climate' ? CLIMATE : join(FIXTURES, name), join(dir, 'package'), { recursive: true });
  const out = join(dir, `${name}-1.0.0.tgz`);
  execFileSync('tar', ['-czf', out, '-C', dir, 'package']);
  return out;
}

export function uplink(
  devEui: string,
  payloadHex: string,
  fport = 1,
  extra: Record<string, unknown> = {},
): TunnelReport {
  const time = '2026-01-01T10:00:00.000Z';
  return {
    kind: 'uplink',
    devEui,
    time,
    timeMs: Date.parse(time),
    fport,
    fcntUp: 1,
    payloadHex,
    document: { DevEUI_uplink: { DevEUI: devEui, FPort: fport, payload_hex: payloadHex, Time: time, ...extra } },
  };
}
