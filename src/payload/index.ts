/**
 * The payload area's public face: what the install/uninstall transaction calls. Everything else in
 * src/payload is an implementation detail behind these.
 */
export { stagePayload, discardStagedPayload, type StageOptions } from './stage.js';
export type { PayloadSettings } from './types.js';
export { commitStagedPayload, finalizePayload, revertPayload } from './commit.js';
export { resolveInterruptedSwitch } from './switch-recovery.js';
export {
  damagedPayloadFiles,
  readInstalledManifest,
  removeInstalledPayload,
  removeOwnPayload,
  type PayloadRemoval,
} from './uninstall.js';
export { DEFAULT_LIMITS, type PayloadLimits } from './entry-policy.js';
export { manifestPath, type PayloadManifest, type ManifestEntry } from './manifest.js';
export type { FetchOptions } from './remote-source.js';
export type { CommitResult, PayloadPorts, StagedPayload } from './types.js';
export { planKataConfigFiles, DROP_IN_NAMES, type KataConfigSettings } from './kata-config/plan-kata-configs.js';
export { loadPristineConfigs } from './kata-config/pristine.js';
