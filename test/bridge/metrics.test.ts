import { describe, expect, it } from 'vitest';
import { BridgeEvents } from '../../src/bridge/events.js';
import { createMetrics } from '../../src/bridge/metrics.js';

const sources = { spoolDepth: () => 0, things: () => 0, connected: () => true };

describe('bridge metrics', () => {
  it('counts uplinks received, accepted and pushed by kind, each once, across several scrapes', async () => {
    const events = new BridgeEvents();
    const registry = createMetrics(events, sources);
    for (let i = 0; i < 3; i++) events.emit('uplink.received', { kind: 'uplink', devEui: 'A' });
    events.emit('uplink.received', { kind: 'notification', devEui: 'A' });
    events.emit('uplink.accepted', { seq: 1, kind: 'uplink', devEui: 'A', spoolDepth: 1 });
    events.emit('push.acked', { seq: 1, thing: 'A', kind: 'uplink', latencyMs: 3 });
    let text = await registry.metrics();
    expect(text).toMatch(/tpx_bridge_received_total\{kind="uplink"\} 3\n/);
    expect(text).toMatch(/tpx_bridge_received_total\{kind="notification"\} 1\n/);
    expect(text).toMatch(/tpx_bridge_accepted_total\{kind="uplink"\} 1\n/);
    expect(text).toMatch(/tpx_bridge_pushed_total\{kind="uplink"\} 1\n/);
    // a second scrape adds nothing; new events add to the totals
    text = await registry.metrics();
    expect(text).toMatch(/tpx_bridge_received_total\{kind="uplink"\} 3\n/);
    events.emit('uplink.received', { kind: 'uplink', devEui: 'B' });
    events.emit('push.acked', { seq: 2, thing: 'B', kind: 'uplink', latencyMs: 3 });
    text = await registry.metrics();
    expect(text).toMatch(/tpx_bridge_received_total\{kind="uplink"\} 4\n/);
    expect(text).toMatch(/tpx_bridge_pushed_total\{kind="uplink"\} 2\n/);
    expect(text).toMatch(/tpx_bridge_push_latency_seconds_count 2\n/);
  });
});
