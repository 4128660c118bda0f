import { describe, expect, it } from 'vitest';
import { normaliseDevEui as thingparkNormalise } from '../../src/thingpark/messages.js';
import {
  DEVEUI,
  devEuiProblem,
  HEX_BYTES,
  hexPattern,
  isCanonicalDevEui,
  isHexBytes,
  isHexDigits,
  normaliseDevEui,
} from '../../src/util/hex.js';

describe('the one DevEUI rule', () => {
  it('accepts any case, whole or grouped, and gives 16 upper-case hex digits', () => {
    for (const s of [
      '0018b20000000fff',
      '0018B20000000FFF',
      ' 0018B20000000FFF\n',
      '00:18:b2:00:00:00:0f:ff',
      '00-18-B2-00-00-00-0F-FF',
      '0018.b200.0000.0fff',
      '00 18 b2 00 00 00 0f ff',
      '00_18_b2_00_00_00_0f_ff',
    ]) {
      expect(normaliseDevEui(s), s).toBe('0018B20000000FFF');
    }
  });

  it('refuses what is not 16 hex digits, and says why', () => {
    for (const s of ['', '0018B20000000FF', '0018B20000000FFF00', '0018B20000000FFG', '0x0018B20000000FFF']) {
      expect(normaliseDevEui(s), s).toBeUndefined();
    }
    expect(devEuiProblem('0018B20000000FFG')).toEqual({ notHex: 'G' });
    expect(devEuiProblem('00-18')).toEqual({ digits: 4 });
    expect(devEuiProblem('0018B20000000FFF')).toBeUndefined();
  });

  it('thingpark/ uses the same normaliser (it refused grouped DevEUIs that tpx thing/uplink accept)', () => {
    expect(thingparkNormalise).toBe(normaliseDevEui);
    expect(thingparkNormalise('00-18-b2-00-00-00-0f-ff')).toBe('0018B20000000FFF');
  });

  it('the wire form of a DevEUI and canonical Thing names', () => {
    expect(DEVEUI.test('0018b20000000fff')).toBe(true);
    expect(DEVEUI.test('00-18-b2-00-00-00-0f-ff')).toBe(false);
    expect(isCanonicalDevEui('0018B20000000FFF')).toBe(true);
    expect(isCanonicalDevEui('0018b20000000fff')).toBe(false);
    expect(isCanonicalDevEui('actilityThingTemplateSF')).toBe(false);
  });
});

describe('hex bytes and digits', () => {
  it('whole bytes, any case; empty only when allowed', () => {
    expect(isHexBytes('0a1B')).toBe(true);
    expect(isHexBytes('')).toBe(true);
    expect(isHexBytes('', { nonEmpty: true })).toBe(false);
    expect(isHexBytes('0a1')).toBe(false);
    expect(isHexBytes('0g')).toBe(false);
    expect(HEX_BYTES.test('0a 1b')).toBe(false);
  });

  it('exactly n digits', () => {
    expect(isHexDigits('a'.repeat(64), 64)).toBe(true);
    expect(isHexDigits('a'.repeat(63), 64)).toBe(false);
    expect(isHexDigits('F', 1)).toBe(true);
    expect(isHexDigits('g', 1)).toBe(false);
    expect(hexPattern(32).test('0123456789abcdefABCDEF0123456789')).toBe(true);
    expect(hexPattern(32).test('0123456789abcdefABCDEF012345678')).toBe(false);
  });
});
