/**
 * Replay memory: the keys of verified requests (see `replayKey` in intake.ts: 32 lower-case hexadecimal digits, the
 * first 128 bits of the Token's SHA-256) with the time each was seen, for a window. A key seen within the window
 * is a replay.
 *
 * Layout: no JavaScript object per key. The keys sit in open-addressing hash tables over typed arrays (linear
 * probing; a slot is 5 × uint32: the key's 128 bits and its time + 1 relative to the table's start, 0 for an empty
 * slot), one table per generation: a slice of time a quarter of the window long (at least a second). A key is
 * remembered in the generation of its time; a lookup looks from the newest generation back to the oldest that can
 * still hold a time within the window, and the newest generation holding the key has its latest time. Forgetting is
 * dropping whole generations once all their times left the window (prune(), and at the start of each generation):
 * no sweep, no deletion in a table, and the dropped table's buffer is reused by the next generation. Memory is
 * therefore bounded by the keys of window + one generation (about 20 bytes / 0.6 per key, plus one spare table),
 * and the garbage collector sees a handful of large buffers instead of millions of small strings.
 *
 * The slot index is a hash of the key's 128 bits: verified keys are SHA-256 digests, uniform, and nobody can choose
 * them without the AS key (no flooding one slot). Any other key (not 32 lower-case hexadecimal digits: a test's token, a key of an
 * unverified stream) is kept in a plain Map beside the tables, with the same semantics.
 *
 * Times are whole milliseconds (a fraction is rounded up); a key remembered twice counts from its later time.
 */

/** uint32 per slot: the key's 4 words, then time - generation start + 1 (0: empty). */
const STRIDE = 5;
/** A table is sized for this load at its creation, and doubles when it passes MAX_LOAD. */
const TARGET_LOAD = 0.6;
const MAX_LOAD = 0.75;
const MIN_SLOTS = 1024;
/** Generations per window. */
const GENERATIONS = 4;

/** The value of a lower-case hexadecimal digit by its char code (< 128), -1 for any other. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let d = 0; d < 16; d++) HEX_VALUE['0123456789abcdef'.charCodeAt(d)] = d;

interface Generation {
  /** Times in [from, to). */
  from: number;
  to: number;
  slots: Uint32Array;
  capacity: number;
  count: number;
}

export interface ReplayEntry {
  key: string;
  seenAt: number;
}

function slotsFor(entries: number): number {
  return Math.max(MIN_SLOTS, Math.ceil(entries / TARGET_LOAD));
}

/**
 * The first slot to probe for the key (k0, k1, k2, k3) in a table of `capacity` slots: the 4 words folded and
 * multiplied by 2^32 / φ (Fibonacci hashing), whose high bits pick the slot. Digests are uniform already; the fold
 * keeps other keys (counters, timestamps in hex) from crowding one corner of the table.
 */
function home(k0: number, k1: number, k2: number, k3: number, capacity: number): number {
  return Math.floor((Math.imul(k0 ^ k1 ^ k2 ^ k3, 0x9e3779b1) >>> 0) * (capacity / 4294967296));
}

export class ReplayMemory {
  /** Oldest first, in order of `from`, disjoint. */
  private readonly generations: Generation[] = [];
  /** The buffer of the last generation dropped, for the next one. */
  private spare: Uint32Array | undefined;
  /** Keys that are not 32 lower-case hexadecimal digits: key -> seen at. */
  private readonly other = new Map<string, number>();
  /** The key being looked up, parsed. */
  private readonly q = new Uint32Array(4);
  /** Length of a generation, ms. */
  readonly span: number;

  constructor(readonly windowMs: number) {
    this.span = Math.min(2 ** 31, Math.max(1000, Math.ceil(windowMs / GENERATIONS)));
  }

  /**
   * Entries held: some may already be out of the window (until their generation is dropped), and a key remembered
   * in two generations is held twice (the older one goes with its generation).
   */
  get size(): number {
    let n = this.other.size;
    for (const g of this.generations) n += g.count;
    return n;
  }

  /** Bytes of the tables' buffers (the spare included; the Map of other keys not). */
  get bytes(): number {
    let n = this.spare?.byteLength ?? 0;
    for (const g of this.generations) n += g.slots.byteLength;
    return n;
  }

  /** True when `key` was remembered at a time t with now - t <= windowMs. */
  has(key: string, now: number): boolean {
    if (!this.parse(key)) {
      const t = this.other.get(key);
      return t !== undefined && now - t <= this.windowMs;
    }
    const oldest = now - this.windowMs;
    const gens = this.generations;
    // the first slot of every table read at once, their cache misses overlapping instead of coming one after
    // another: a table whose first slot for the key is empty does not hold it (bit i of `empty`, tables 0-29)
    const q = this.q;
    const h = Math.imul(q[0]! ^ q[1]! ^ q[2]! ^ q[3]!, 0x9e3779b1) >>> 0;
    let empty = 0;
    for (let i = 0; i < gens.length && i < 30; i++) {
      const g = gens[i]!;
      if (g.slots[Math.floor(h * (g.capacity / 4294967296)) * STRIDE + 4] === 0) empty |= 1 << i;
    }
    for (let i = gens.length - 1; i >= 0; i--) {
      const g = gens[i]!;
      // every time of g is at most to - 1: none within the window, nor in older generations
      if (g.to - 1 < oldest) return false;
      if (i < 30 && (empty >>> i) & 1) continue;
      const o = this.find(g);
      if (o >= 0) return now - (g.from + g.slots[o + 4]! - 1) <= this.windowMs;
    }
    return false;
  }

  /** Remembers `key` as seen at `seenAt`. Forgets what is older than the window then, as prune() would. */
  remember(key: string, seenAt: number): void {
    const at = Math.ceil(seenAt);
    if (!Number.isFinite(at)) return; // never within a window: as good as forgotten
    if (!this.parse(key)) {
      const t = this.other.get(key);
      if (t === undefined || t < at) this.other.set(key, at);
      return;
    }
    const g = this.generationOf(at);
    const o = this.find(g);
    const t = at - g.from + 1;
    if (o >= 0) {
      if (g.slots[o + 4]! < t) g.slots[o + 4] = t;
      return;
    }
    if (g.count + 1 > g.capacity * MAX_LOAD) this.grow(g);
    this.insert(g, t);
  }

  /** Forgets the keys seen before `before` (whole generations: the rest of a generation waits for its end). */
  prune(before: number): void {
    const gens = this.generations;
    let n = 0;
    while (n < gens.length && gens[n]!.to <= before) n++;
    for (const g of gens.splice(0, n)) {
      if (!this.spare || this.spare.length < g.slots.length) this.spare = g.slots;
    }
    for (const [k, t] of this.other) if (t < before) this.other.delete(k);
  }

  load(entries: Iterable<ReplayEntry>): void {
    for (const e of entries) this.remember(e.key, e.seenAt);
  }

  /** Parses a key of 32 lower-case hexadecimal digits into `q`; false for any other key. */
  private parse(key: string): boolean {
    if (key.length !== 32) return false;
    const q = this.q;
    let bad = 0;
    for (let w = 0, i = 0; w < 4; w++) {
      let v = 0;
      for (const end = i + 8; i < end; i++) {
        const c = key.charCodeAt(i);
        const d = c < 128 ? HEX_VALUE[c]! : -1;
        bad |= d;
        v = (v << 4) | (d & 15);
      }
      q[w] = v;
    }
    return bad >= 0;
  }

  /** The offset of `q`'s slot in g, or -1. */
  private find(g: Generation): number {
    const s = g.slots;
    const q = this.q;
    const k0 = q[0]!;
    const k1 = q[1]!;
    const k2 = q[2]!;
    const k3 = q[3]!;
    const end = g.capacity * STRIDE;
    for (let o = home(k0, k1, k2, k3, g.capacity) * STRIDE; ; ) {
      if (s[o + 4] === 0) return -1;
      if (s[o] === k0 && s[o + 1] === k1 && s[o + 2] === k2 && s[o + 3] === k3) return o;
      o += STRIDE;
      if (o === end) o = 0;
    }
  }

  /** Puts `q` (known absent) with time t into g. */
  private insert(g: Generation, t: number): void {
    const s = g.slots;
    const q = this.q;
    const end = g.capacity * STRIDE;
    let o = home(q[0]!, q[1]!, q[2]!, q[3]!, g.capacity) * STRIDE;
    while (s[o + 4] !== 0) {
      o += STRIDE;
      if (o === end) o = 0;
    }
    s[o] = q[0]!;
    s[o + 1] = q[1]!;
    s[o + 2] = q[2]!;
    s[o + 3] = q[3]!;
    s[o + 4] = t;
    g.count += 1;
  }

  private grow(g: Generation): void {
    const old = g.slots;
    const capacity = g.capacity * 2;
    const s = new Uint32Array(capacity * STRIDE);
    const end = capacity * STRIDE;
    for (let p = 0; p < old.length; p += STRIDE) {
      if (old[p + 4] === 0) continue;
      let o = home(old[p]!, old[p + 1]!, old[p + 2]!, old[p + 3]!, capacity) * STRIDE;
      while (s[o + 4] !== 0) {
        o += STRIDE;
        if (o === end) o = 0;
      }
      s[o] = old[p]!;
      s[o + 1] = old[p + 1]!;
      s[o + 2] = old[p + 2]!;
      s[o + 3] = old[p + 3]!;
      s[o + 4] = old[p + 4]!;
    }
    g.slots = s;
    g.capacity = capacity;
  }

  /** The generation holding time `at`, made when there is none. */
  private generationOf(at: number): Generation {
    const gens = this.generations;
    const from = Math.floor(at / this.span) * this.span;
    const last = gens.at(-1);
    if (last?.from === from) return last;
    if (!last || from > last.from) {
      this.prune(at - this.windowMs);
      // sized for as many keys as the last generation got (the rate is what it was)
      const g = this.table(from, last ? last.count : 0);
      gens.push(g);
      return g;
    }
    let i = gens.length - 1;
    while (i >= 0 && gens[i]!.from > from) i--;
    if (i >= 0 && gens[i]!.from === from) return gens[i]!;
    const g = this.table(from, 0);
    gens.splice(i + 1, 0, g);
    return g;
  }

  private table(from: number, entries: number): Generation {
    const wanted = slotsFor(entries);
    let slots: Uint32Array;
    const spare = this.spare;
    this.spare = undefined;
    // the dropped generation's buffer when its size is about right (its load then stays below 0.67)
    if (spare && spare.length >= wanted * STRIDE * 0.9 && spare.length <= wanted * STRIDE * 1.5) slots = spare.fill(0);
    else slots = new Uint32Array(wanted * STRIDE);
    return { from, to: from + this.span, slots, capacity: slots.length / STRIDE, count: 0 };
  }
}
