import { expect } from 'vitest';
import { planRuntimeConfig } from '../../src/containerd/config/plan.js';
import { readRuntimeConfigInputs } from '../../src/containerd/config/reads.js';
import type { RuntimeConfigRequest } from '../../src/containerd/config/request.js';
import { assertCurrentConfigAccepted, withEffectiveRunc } from '../../src/containerd/config/validate-plan.js';
import type { ConfigValidator } from '../../src/containerd/config/validator.js';
import type { KataDeployError } from '../../src/core/errors.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { makeTempRoot } from '../helpers/temp-root.js';
import { corpusBytes } from './fixtures.js';

const CONFIG = '/etc/containerd/config.toml';

/** A corpus config read as the node's, accepted by real containerd, and our plan for it. */
export interface CorpusPlan {
  readonly current: Map<string, Buffer | undefined>;
  readonly before: string | undefined;
  readonly plan: ReturnType<typeof planRuntimeConfig>;
}

/**
 * The first half of every real-containerd corpus matrix: the file's current inputs read from a temp root,
 * the node's own config checked by the real containerd, and the plan made. Undefined when containerd refuses
 * the node's config before any change (config-refused), which each matrix counts as refused.
 */
export async function corpusPlan(
  validator: ConfigValidator,
  wanted: RuntimeConfigRequest,
  file: string,
): Promise<CorpusPlan | undefined> {
  const root = await makeTempRoot({ [CONFIG]: corpusBytes('containerd', file) });
  let current: Map<string, Buffer | undefined>;
  try {
    current = await readRuntimeConfigInputs(new NodeHostFs(root.root), wanted);
  } finally {
    await root.cleanup();
  }
  try {
    const before = await assertCurrentConfigAccepted(validator, wanted, current);
    return { current, before, plan: planRuntimeConfig(withEffectiveRunc(wanted, before), current, undefined) };
  } catch (error) {
    expect((error as KataDeployError).code).toBe('config-refused');
    return undefined;
  }
}
