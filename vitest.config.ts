import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // the leak checks (test/e2e/soak.test.ts, corpus) run a full GC before they read the heap
    execArgv: ['--expose-gc'],
    reporters: process.env.CI_JSON != null ? ['default', ['json', { outputFile: process.env.CI_JSON }]] : ['default']
  }
})
