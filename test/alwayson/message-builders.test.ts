import { describe, expect, it } from 'vitest';
import { namedVtq } from '../../src/alwayson/message-builders.js';

describe('namedVtq', () => {
  it('gives each row its own name, value, time and quality, also where cells are shared between rows and pushes', () => {
    const first = namedVtq(
      [
        { name: 'a', value: { baseType: 'NUMBER', value: 1 }, time: 10 },
        { name: 'b', value: { baseType: 'STRING', value: 'x' }, time: 10, quality: 'BAD' },
        { name: 'a', value: { baseType: 'NUMBER', value: 2 }, time: 20, quality: 'GOOD' },
        { name: 'c', value: { baseType: 'BOOLEAN', value: true } },
      ],
      99,
    );
    expect(first.rows).toEqual([
      [
        { baseType: 'STRING', value: 'a' },
        { baseType: 'VARIANT', value: { baseType: 'NUMBER', value: 1 } },
        { baseType: 'DATETIME', value: 10 },
        { baseType: 'STRING', value: 'GOOD' },
      ],
      [
        { baseType: 'STRING', value: 'b' },
        { baseType: 'VARIANT', value: { baseType: 'STRING', value: 'x' } },
        { baseType: 'DATETIME', value: 10 },
        { baseType: 'STRING', value: 'BAD' },
      ],
      [
        { baseType: 'STRING', value: 'a' },
        { baseType: 'VARIANT', value: { baseType: 'NUMBER', value: 2 } },
        { baseType: 'DATETIME', value: 20 },
        { baseType: 'STRING', value: 'GOOD' },
      ],
      [
        { baseType: 'STRING', value: 'c' },
        { baseType: 'VARIANT', value: { baseType: 'BOOLEAN', value: true } },
        { baseType: 'DATETIME', value: 99 },
        { baseType: 'STRING', value: 'GOOD' },
      ],
    ]);
    // a later push with other times keeps its own times; the earlier table is unchanged
    const second = namedVtq([{ name: 'a', value: { baseType: 'NUMBER', value: 3 }, time: 30 }], 0);
    expect(second.rows[0]![2]).toEqual({ baseType: 'DATETIME', value: 30 });
    expect(first.rows[0]![2]).toEqual({ baseType: 'DATETIME', value: 10 });
    expect(Object.isFrozen(second.rows[0]![0])).toBe(true);
  });
});
