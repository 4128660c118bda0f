import { describe, expect, it } from 'vitest';
import { mask, redact } from '../../src/config/secrets.js';

describe('secrets', () => {
  it('masks short secrets entirely and long ones but the last 4 characters', () => {
    expect(mask('abc')).toBe('*****');
    expect(mask('0123456789abcdef')).toBe('*****cdef');
    expect(mask('')).toBe('');
  });
  it('redacts every occurrence', () => {
    expect(redact('key=0123456789abcdef and 0123456789abcdef', ['0123456789abcdef'])).toBe(
      'key=*****cdef and *****cdef',
    );
  });
});
