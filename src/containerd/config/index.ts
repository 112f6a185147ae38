/**
 * The runtime-config area's public face for the install/uninstall transaction: read → plan (pure) →
 * validate with the host's containerd → write (the step runner) → record; uninstall plans from the record.
 */
export { planRuntimeConfig, type RuntimeConfigPlan } from './plan.js';
export { planRuntimeConfigRemoval } from './removal.js';
export { readRuntimeConfigInputs, runtimeConfigReads, runtimeConfigDirs } from './reads.js';
export {
  assertCurrentConfigAccepted,
  assertChangedConfigAccepted,
  validateRuntimeConfigPlan,
  dumpedRuntimes,
  applyChanges,
} from './validate-plan.js';
export {
  containerdValidator,
  containerdBinary,
  type ConfigValidator,
  type ValidationResult,
  type ContainerdValidatorOptions,
} from './validator.js';
export type { RuntimeConfigRequest } from './request.js';
export type { RuntimeConfigRecord, RecordedConfigFile } from './record.js';
