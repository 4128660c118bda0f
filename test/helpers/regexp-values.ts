/**
 * A regular expression as an expected value matches a string (`toMatchObject({ detail: /…/ })`). Without this tester
 * vitest compares a RegExp with a string as objects: a RegExp has no own keys, so as a subset it matches anything and
 * such an assertion could never fail. Set up for every test file (vitest.config.ts `setupFiles`).
 */
import { expect } from 'vitest';

expect.addEqualityTesters([
  (actual: unknown, expected: unknown) => {
    if (expected instanceof RegExp && typeof actual === 'string') return expected.test(actual);
    if (actual instanceof RegExp && typeof expected === 'string') return actual.test(expected);
    return undefined;
  },
]);
