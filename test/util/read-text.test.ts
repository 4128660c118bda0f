import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readText } from '../../src/util/read-text.js';

describe('readText, the one body reader', () => {
  it('reads buffers and strings to the end as UTF-8', async () => {
    const euro = Buffer.from('€');
    const src = Readable.from([Buffer.from('a'), euro.subarray(0, 1), euro.subarray(1), 'b'], { objectMode: true });
    expect(await readText(src)).toBe('a€b');
  });

  it('stops past the limit with the caller’s error and destroys the stream', async () => {
    const src = Readable.from([Buffer.alloc(600), Buffer.alloc(600), Buffer.alloc(600)]);
    const err = await readText(src, 1000, (limit) => new Error(`over ${limit}`)).catch((e: unknown) => e);
    expect(err).toEqual(new Error('over 1000'));
    expect(src.destroyed).toBe(true);
  });

  it('takes exactly the limit', async () => {
    expect(await readText(Readable.from([Buffer.from('12345')]), 5)).toBe('12345');
  });
});
