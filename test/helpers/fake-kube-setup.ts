// Starts a FakeKubeApi and connects the real client to it through a kubeconfig in a temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FakeKubeApi } from './fake-kube-api.ts';
import { instantClock, type InstantClock } from './instant-clock.ts';
import { createKube, type KubeAccess } from '../../src/kube/create-kube.js';
import { silentLogger } from '../../src/host/logger.js';

export interface FakeKubeSetup {
  readonly api: FakeKubeApi;
  readonly access: KubeAccess;
  readonly clock: InstantClock;
  readonly kubeconfig: string;
  cleanup(): Promise<void>;
}

export async function startFakeKube(nodeName = 'worker-1'): Promise<FakeKubeSetup> {
  const api = await new FakeKubeApi().start();
  const dir = mkdtempSync(path.join(tmpdir(), 'kata-deploy-kube-'));
  const kubeconfig = api.writeKubeconfig(path.join(dir, 'kubeconfig'));
  const clock = instantClock();
  const access = createKube({ kubeconfig, nodeName }, silentLogger(), {
    clock,
    random: () => 0.5,
    serviceAccountDir: path.join(dir, 'no-sa'),
  });
  if (access === undefined) throw new Error('createKube refused a kubeconfig');
  return {
    api,
    access,
    clock,
    kubeconfig,
    cleanup: async () => {
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
