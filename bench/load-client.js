// The load client of the bridge benchmarks, run in a process of its own so that its CPU is not the bridge's:
// `runLoadClient(options)` spawns this file and resolves with {sent, ok, bad, firstBad, elapsed}.
// Each uplink is a DevEUI_uplink signed as ThingPark's tunnel signs it. Device i of `devices` (DevEUIs from
// `first`, 70B3D57E + 8 hex digits) is picked per message by `pick`:
// - 'round': message n goes to device n % devices (every device at the same rate);
// - 'longtail': a few hot devices (`hot`, default 1%) take `hotShare` (default half) of the messages, the rest is
//   spread over the others (in LoRaWAN most devices report every 15 minutes, a few every few seconds).
// `rate` 0 drives as fast as `connections` allow; otherwise messages are paced at `rate` per second.
// Frame counters: each device counts its own uplinks from `fcntBase`, so no report is a duplicate.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
export const AS_ID = 'bench.as';
export const AS_KEY = '0123456789abcdef0123456789abcdef';
export const devEui = (i) => `70B3D57E${i.toString(16).toUpperCase().padStart(8, '0')}`;

/**
 * @param {{url: string, rate: number, seconds: number, connections?: number, first?: number, devices: number,
 *   pick?: 'round'|'longtail', hot?: number, hotShare?: number, fcntBase?: number}} o
 */
export function runLoadClient(o) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [here, JSON.stringify(o)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load client exited ${code}`)),
    );
  });
}

async function main(o) {
  const { Pool } = await import('undici');
  const { signUplink } = await import('../dist/thingpark/tunnel.js');
  const target = new URL(o.url);
  const connections = o.connections ?? 16;
  const pool = new Pool(target.origin, { connections, pipelining: 1 });
  const first = o.first ?? 0;
  const devices = o.devices;
  const fcnt = new Uint32Array(devices);
  const hot = Math.max(1, Math.round(devices * (o.hot ?? 0.01)));
  const hotShare = o.hotShare ?? 0.5;
  let rnd = 0x2545f491;
  const random = () => {
    // xorshift32: the same sequence on every run
    rnd ^= rnd << 13;
    rnd ^= rnd >>> 17;
    rnd ^= rnd << 5;
    return (rnd >>> 0) / 4294967296;
  };
  let cold = 0;
  const pick = (n) => {
    if (o.pick !== 'longtail') return n % devices;
    if (random() < hotShare) return Math.floor(random() * hot);
    // cold devices in turn, so each reports about every (devices - hot) / (rate * (1 - hotShare)) seconds
    cold = (cold + 1) % (devices - hot || 1);
    return hot + cold;
  };
  let n = 0;
  let ok = 0;
  let bad = 0;
  let firstBad = '';
  const one = async () => {
    const d = pick(n++);
    const doc = {
      DevEUI_uplink: {
        Time: new Date().toISOString().replace('Z', '+00:00'),
        DevEUI: devEui(first + d),
        FPort: 2,
        FCntUp: (o.fcntBase ?? 0) + fcnt[d]++,
        payload_hex: (n & 0xffff).toString(16).padStart(4, '0'),
        LrrRSSI: -70,
        LrrSNR: 7.5,
        SpFact: 7,
        CustomerID: '100000507',
        Late: 0,
        Lrrs: { Lrr: [{ Lrrid: '08040059', LrrRSSI: -70, LrrSNR: 7.5, LrrESP: -71 }] },
      },
    };
    const q = signUplink(doc, { asId: AS_ID, asKey: AS_KEY }).queryString;
    try {
      const r = await pool.request({
        method: 'POST',
        path: `${target.pathname}?${q}`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(doc),
      });
      const t = await r.body.text();
      if (r.statusCode >= 200 && r.statusCode < 300) ok++;
      else {
        bad++;
        firstBad ||= `${r.statusCode} ${t.slice(0, 200)}`;
      }
    } catch (err) {
      bad++;
      firstBad ||= err.message;
    }
  };
  const t0 = performance.now();
  const end = t0 + o.seconds * 1000;
  if (!o.rate) {
    await Promise.all(
      Array.from({ length: connections * 2 }, async () => {
        while (performance.now() < end) await one();
      }),
    );
  } else {
    // exactly rate x seconds messages, paced
    const inflight = new Set();
    const total = Math.round(o.rate * o.seconds);
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * o.rate) + 1);
      while (sent < due) {
        sent++;
        const p = one();
        inflight.add(p);
        p.finally(() => inflight.delete(p));
      }
      await new Promise((r) => setTimeout(r, Math.max(1, t0 + ((sent + 1) / o.rate) * 1000 - performance.now())));
    }
    await Promise.all(inflight);
  }
  const elapsed = (performance.now() - t0) / 1000;
  await pool.close();
  const cpu = process.cpuUsage(); // the whole client process (start-up included), per message sent
  const cpuUs = (cpu.user + cpu.system) / Math.max(1, n);
  process.stdout.write(`${JSON.stringify({ sent: n, ok, bad, firstBad, elapsed, cpuUs })}\n`);
}

if (process.argv[1] === here) await main(JSON.parse(process.argv[2]));
