import { describe, expect, it } from 'vitest';
import { DedupWindow } from '../../src/bridge/dedup.js';

describe('(DevEUI, FCntUp) dedup window', () => {
  it('a repeat within the window is a duplicate; after the window, or with another payload, it is new', () => {
    const d = new DedupWindow(60_000);
    d.remember('A', 7, 'cafe', 1_000);
    expect(d.isDuplicate('A', 7, 'cafe', 30_000)).toBe(true);
    expect(d.isDuplicate('A', 7, 'beef', 30_000)).toBe(false); // counters restarted (rejoin without notification)
    expect(d.isDuplicate('A', 8, 'cafe', 30_000)).toBe(false);
    expect(d.isDuplicate('B', 7, 'cafe', 30_000)).toBe(false);
    expect(d.isDuplicate('A', 7, 'cafe', 61_001)).toBe(false);
  });

  it('a join resets the device; prune drops what left the window; 0 turns it off', () => {
    const d = new DedupWindow(60_000);
    d.remember('A', 1, '', 0);
    d.remember('A', 2, '', 50_000);
    d.remember('B', 1, '', 0);
    expect(d.size).toBe(3);
    d.reset('A');
    expect(d.isDuplicate('A', 2, '', 50_001)).toBe(false);
    expect(d.size).toBe(1);
    d.prune(70_000);
    expect(d.size).toBe(0);
    const off = new DedupWindow(0);
    off.remember('A', 1, '', 0);
    expect(off.isDuplicate('A', 1, '', 0)).toBe(false);
  });
});
