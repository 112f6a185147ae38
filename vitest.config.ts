import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A hang guard, not a speed check: real containerd and systemd tests take several times longer on a loaded
    // 2-core machine (one failed at 30 s while eight other test runs shared it).
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
