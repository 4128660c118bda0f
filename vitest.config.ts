import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // vitest 4 runs one file at a time on 2 cores by default; the suite's files are independent (ports 0, own temp dirs)
    maxWorkers: 2,
    reporters: process.env.TPX_VITEST_JSON ? ['default', ['json', { outputFile: process.env.TPX_VITEST_JSON }]] : ['default'],
  },
});
