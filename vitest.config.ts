import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // a regular expression as an expected value matches a string (else a toMatchObject with one could never fail)
    setupFiles: ['test/helpers/regexp-values.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // vitest 4 runs one file at a time on 2 cores by default; the suite's files are independent (ports 0, own temp dirs)
    maxWorkers: 2,
    // A worker runs file after file in one process instead of a new process per file: the modules (src/, vitest,
    // undici, ws…) are loaded once per worker, not once per file (~36 s of imports across the suite). Safe here:
    // no test mocks modules (vi.mock) or stubs globals, fake timers are restored in afterEach, every file uses its
    // own ports (0) and temp dirs, in-process CLI runs get their own process object (test/helpers/run.ts), and
    // readme.test.ts puts the working directory back in afterAll. A new test that changes module state for good
    // (vi.mock, process.env, process.chdir without restoring) must undo it, or run with `isolate: true`.
    isolate: false,
    reporters: process.env.TPX_VITEST_JSON ? ['default', ['json', { outputFile: process.env.TPX_VITEST_JSON }]] : ['default'],
  },
});
