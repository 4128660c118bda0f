/** Stable assignment of Things to pipes: FNV-1a 32-bit hash of the UTF-16 name, modulo the pipe count. */

export function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Index of the pipe (0..pipeCount-1) that carries this Thing. Same name, same pipe count: same pipe. */
export function pipeFor(name: string, pipeCount: number): number {
  return pipeCount <= 1 ? 0 : hashName(name) % pipeCount;
}
