import { defineConfig } from 'vitest/config';

/**
 * The unit tests of the pure decision modules that `npm run test:mutation` mutates: fast, no real
 * containerd or systemd, and none sends a signal to its own process (that would kill Stryker's worker).
 */
export default defineConfig({
  test: {
    include: [
      'test/settings/parse-settings.test.ts',
      'test/settings/parse-values.test.ts',
      'test/kube/labels.test.ts',
      'test/transaction/restart-decision.test.ts',
      'test/payload/entry-policy.test.ts',
      'test/containerd-config/toml-lexer.test.ts',
      'test/containerd-config/toml-lexer-spans.test.ts',
      'test/containerd-config/in-place-edit.test.ts',
    ],
    testTimeout: 30_000,
    pool: 'forks',
  },
});
