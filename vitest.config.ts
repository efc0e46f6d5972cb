import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Most test time is spent waiting on real Redis, MySQL, files and child processes, not on the
// CPU; every file has its own database and Redis prefix, so files run side by side safely.
// Vitest's default (one fewer worker than cores) runs them one at a time on a 2-core machine.
const WORKERS = Math.max(2, availableParallelism() - 1);

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: WORKERS,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'bench/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // Finds MySQL and Redis (env URLs or Testcontainers) once for every integration file.
          globalSetup: ['./test/support/global-setup.ts'],
        },
      },
    ],
  },
});
