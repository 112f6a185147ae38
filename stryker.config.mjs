// Mutation testing of the pure decision modules on their unit tests (`npm run test:mutation`; not a CI gate).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: [
    'src/settings/parse-values.ts',
    'src/kube/labels.ts',
    'src/transaction/restart-decision.ts',
    'src/payload/entry-policy.ts',
    'src/containerd/config/in-place-edit.ts',
    'src/containerd/config/toml-lexer.ts',
  ],
  coverageAnalysis: 'perTest',
  // TypeScript 7 has no JS API: Stryker must not read or rewrite tsconfig.json.
  tsconfigFile: 'stryker-no-tsconfig.json',
  disableTypeChecks: false,
  concurrency: 2,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: '.cache/mutation/report.json' },
  tempDirName: '.cache/stryker-tmp',
  timeoutMS: 10_000,
};
