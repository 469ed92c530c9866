import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // at least two files at once: vitest's default (one fewer than the CPUs) is one on a 2-CPU machine,
    // where most of a file's time is spent waiting on sockets and child processes, not computing
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // the leak checks (test/e2e/soak.test.ts, corpus) run a full GC before they read the heap
    execArgv: ['--expose-gc'],
    reporters: process.env.CI_JSON != null ? ['default', ['json', { outputFile: process.env.CI_JSON }]] : ['default']
  }
})
