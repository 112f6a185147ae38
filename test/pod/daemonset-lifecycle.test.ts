// The DaemonSet's whole life on nodes with systemd as PID 1, its pods started from the rendered daemonset.yaml
// by the kubelet stand-in: rollout, pod restart, rolling update, a pod SIGKILLed mid-install, deletion.
// One file on purpose: the pods share the host's network (no CNI here), so two would fight over the health
// port; the node kinds run one after the other.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KATA_RUNTIME_LABEL } from '../../src/kube/labels.js';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
import type { StandinPod } from '../helpers/kubelet-standin.js';
import { payloadFile, payloadFiles } from '../helpers/kubelet/payload-listing.js';
import { type PodTestbed, startPodTestbed } from '../helpers/kubelet/pod-testbed.js';
import { type NodeKind, nspawnNodeUnsupported } from '../helpers/nspawn-node.js';
import { samplePayload } from '../helpers/sample-payload.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

const unsupported = nspawnNodeUnsupported();
const KINDS: readonly NodeKind[] = ['containerd-1.6', 'containerd-2.1', 'k3s'];
const FIRST = 'kata-deploy-ts:latest';
const UPGRADE = 'kata-deploy-ts:upgrade';

/** What says the runtime was (re)started: systemd's invocation of the unit and its main process. */
async function runtimeIdentity(bed: PodTestbed) {
  const unit = bed.node.runtime.unit;
  return {
    invocation: await bed.node.unitProperty(unit, 'InvocationID'),
    mainPid: await bed.node.unitProperty(unit, 'MainPID'),
    nRestarts: await bed.node.unitProperty(unit, 'NRestarts'),
  };
}

/**
 * How many times systemd started the runtime's unit since boot: its "unit started" entries
 * (SD_MESSAGE_UNIT_STARTED) in the whole journal, after `journalctl --sync` has stored every message sent
 * so far (systemd's own line about a restart can still be on its way when the restart's caller returns). A
 * tail of the unit's journal lost early starts once containerd's own lines filled it.
 */
async function runtimeStarts(bed: PodTestbed): Promise<number> {
  await bed.node.exec(['journalctl', '--sync']);
  const unitStarted = 'MESSAGE_ID=39f53479d3a045ac8e11786248231fbf';
  const run = await bed.node.exec(['journalctl', '--no-pager', '-o', 'cat', '-u', bed.node.runtime.unit, unitStarted]);
  return run.stdout.split('\n').filter((line) => /^Started /.test(line)).length;
}

async function kataHandlers(bed: PodTestbed): Promise<string[]> {
  const status = await bed.node.runtimeStatus();
  return status.handlers.filter((name) => name.startsWith('kata')).sort();
}

async function installedFiles(bed: PodTestbed): Promise<Set<string>> {
  const tree = await snapshotTree(bed.node.hostPath('/opt/kata'));
  return new Set(
    Object.entries(tree)
      .filter(([, entry]) => entry.startsWith('file '))
      .map(([rel]) => `/opt/kata/${rel}`),
  );
}

async function readyPod(bed: PodTestbed): Promise<StandinPod> {
  const pod = await bed.startPod();
  const ready = await pod.whenReady();
  expect(ready, `the pod exited before it was ready:\n${pod.logs().slice(-4000)}`).toBe(true);
  return pod;
}

describe.skipIf(unsupported !== undefined)(
  `the DaemonSet's pods on nspawn nodes${unsupported ? ` (skipped: ${unsupported})` : ''}`,
  () => {
    const payloads = { [FIRST]: samplePayload(), [UPGRADE]: samplePayload('sample-upgrade', ['--files', '100']) };
    let api: FakeKubeApi;
    beforeAll(async () => {
      api = await new FakeKubeApi().start();
    });
    afterAll(async () => {
      await api?.stop();
    });

    for (const kind of KINDS) {
      describe(kind, () => {
        let bed: PodTestbed;
        let pod: StandinPod | undefined;
        let configBefore: string | undefined;

        let startsAtBoot: number;

        beforeAll(async () => {
          bed = await startPodTestbed(kind, api, payloads);
          configBefore = await bed.node.readFile(bed.node.runtime.configPath);
          startsAtBoot = await runtimeStarts(bed);
        }, 600_000);
        afterAll(async () => {
          pod?.kill();
          await pod?.exited;
          await bed?.stop();
        });

        it('rollout: the pod becomes ready, the node is labelled and the kata handlers are live in CRI', async () => {
          pod = await readyPod(bed);
          expect(api.labels(bed.node.name)[KATA_RUNTIME_LABEL]).toBe('true');
          expect(await kataHandlers(bed)).toContain('kata-qemu');
          expect((await runtimeStarts(bed)) - startsAtBoot, 'one restart for the new handlers').toBe(1);
          // From inside the node: `kubectl exec` into the pod, whose status asks the runtime over /host's socket.
          const status = await pod.exec(['kata-deploy', 'status', '--json']);
          expect(status.code, status.stderr).toBe(0);
          const live = JSON.parse(status.stdout).live;
          expect(live).toMatchObject({ answered: true, missing: [] });
          expect(live.handlers).toEqual(expect.arrayContaining(await kataHandlers(bed)));
          const installed = await installedFiles(bed);
          for (const file of payloadFiles(payloads[FIRST])) expect(installed).toContain(file);
        });

        it('seccomp RuntimeDefault: the daemon runs under the filter, which refuses unshare', async () => {
          const status = readFileSync(`/proc/${pod!.mainPid()}/status`, 'utf8');
          expect(status, 'the daemon is in seccomp filter mode').toMatch(/^Seccomp:\t2$/m);
          const unshare = await pod!.exec(['unshare', '--user', 'true']);
          expect(unshare.code).not.toBe(0);
          expect(unshare.stderr).toMatch(/unshare failed: Operation not permitted/);
          // The same container Unconfined may: the filter refuses it, not the capabilities or no_new_privs.
          const unconfined = bed.manifest();
          const container = unconfined.spec.template.spec.containers[0];
          container.securityContext.seccompProfile = { type: 'Unconfined' };
          container.command = ['sleep', 'infinity'];
          delete container.readinessProbe;
          delete container.livenessProbe;
          const control = await bed.startPodOf(unconfined);
          try {
            expect(readFileSync(`/proc/${control.mainPid()}/status`, 'utf8')).toMatch(/^Seccomp:\t0$/m);
            const allowed = await control.exec(['unshare', '--user', 'true']);
            expect(allowed.code, allowed.stderr).toBe(0);
          } finally {
            control.kill();
            await control.exited;
          }
        });

        it('pod restart: the successor finds the node converged (no runtime restart, Kata kept)', async () => {
          const runtimeBefore = await runtimeIdentity(bed);
          const treeBefore = await snapshotTree(bed.node.hostPath('/opt/kata'));
          const exit = await pod!.terminate();
          expect(exit).toMatchObject({ code: 0, killedAfterGrace: false });
          expect(api.labels(bed.node.name)[KATA_RUNTIME_LABEL]).toBe('true');
          pod = await readyPod(bed);
          expect(await runtimeIdentity(bed)).toEqual(runtimeBefore);
          expect(runtimeBefore.nRestarts).toBe('0');
          expect(await snapshotTree(bed.node.hostPath('/opt/kata'))).toEqual(treeBefore);
          expect(await kataHandlers(bed)).toContain('kata-qemu');
        });

        it('kubectl rollout restart: a new template, the same node state', async () => {
          const runtimeBefore = await runtimeIdentity(bed);
          const treeBefore = await snapshotTree(bed.node.hostPath('/opt/kata'));
          bed.restartRollout();
          expect(await pod!.terminate()).toMatchObject({ code: 0, killedAfterGrace: false });
          pod = await readyPod(bed);
          expect(await runtimeIdentity(bed)).toEqual(runtimeBefore);
          expect(await snapshotTree(bed.node.hostPath('/opt/kata'))).toEqual(treeBefore);
          expect(api.labels(bed.node.name)[KATA_RUNTIME_LABEL]).toBe('true');
        });

        // The issue expected one restart here; there is none, on purpose: the handlers' names, runtime_path and
        // ConfigPath are the same for both payloads, so containerd's config is byte-identical and a restart would
        // change nothing. containerd reads the shim binary and its config afresh for every new sandbox, so the
        // paths it holds already lead to the new payload's files (asserted below); running sandboxes keep theirs.
        it('rolling update to a new payload: upgraded in place, stale files removed, no restart', async () => {
          const startsBefore = await runtimeStarts(bed);
          const runtimeBefore = await runtimeIdentity(bed);
          const configBeforeUpdate = await bed.node.readFile(bed.node.runtime.configPath);
          bed.setImage(UPGRADE);
          expect(await pod!.terminate()).toMatchObject({ code: 0, killedAfterGrace: false });
          pod = await readyPod(bed);
          const installed = await installedFiles(bed);
          const fresh = payloadFiles(payloads[UPGRADE]);
          const stale = [...payloadFiles(payloads[FIRST])].filter((file) => !fresh.has(file));
          expect(stale.length).toBeGreaterThan(0);
          for (const file of fresh) expect(installed).toContain(file);
          for (const file of stale) expect(installed).not.toContain(file);
          expect((await runtimeStarts(bed)) - startsBefore, 'no runtime restart').toBe(0);
          expect(await runtimeIdentity(bed), 'the same containerd process').toEqual(runtimeBefore);
          expect(await bed.node.readFile(bed.node.runtime.configPath), 'its config untouched').toBe(configBeforeUpdate);
          const live = (await bed.node.runtimeStatus()).runtimes.get('kata-qemu');
          expect(live?.runtimePath, 'kata-qemu names its shim under /opt/kata').toMatch(/^\/opt\/kata\//);
          const shim = readFileSync(bed.node.hostPath(live!.runtimePath));
          expect(shim.equals(payloadFile(payloads[UPGRADE], live!.runtimePath)), "the new payload's shim").toBe(true);
          expect(shim.equals(payloadFile(payloads[FIRST], live!.runtimePath)), 'not the old one').toBe(false);
          expect(existsSync(bed.node.hostPath(live!.configPath)), `${live!.configPath} on the node`).toBe(true);
          expect(api.labels(bed.node.name)[KATA_RUNTIME_LABEL]).toBe('true');
          expect(await kataHandlers(bed)).toContain('kata-qemu');
        });

        it('a pod SIGKILLed mid-install leaves a node its successor converges', async () => {
          bed.setImage(FIRST);
          expect(await pod!.terminate()).toMatchObject({ code: 0 });
          const doomed = await bed.startPod();
          await doomed.logLine(/payload unpacked into staging/);
          doomed.kill();
          const killed = await doomed.exited;
          expect(killed.signal ?? killed.code).toBeTruthy();
          expect(doomed.eventAt('ready'), 'killed before it was ready').toBeUndefined();
          pod = await readyPod(bed);
          const installed = await installedFiles(bed);
          const fresh = payloadFiles(payloads[FIRST]);
          for (const file of fresh) expect(installed).toContain(file);
          for (const file of payloadFiles(payloads[UPGRADE]))
            if (!fresh.has(file)) expect(installed).not.toContain(file);
          expect(api.labels(bed.node.name)[KATA_RUNTIME_LABEL]).toBe('true');
          expect(await kataHandlers(bed)).toContain('kata-qemu');
        });

        it('DaemonSet deleted: the pod uninstalls within its grace period and the node is as before', async () => {
          const startsBefore = await runtimeStarts(bed);
          bed.deleteDaemonSet();
          const exit = await pod!.terminate();
          pod = undefined;
          expect(exit).toMatchObject({ code: 0, killedAfterGrace: false });
          expect(await bed.node.readFile(bed.node.runtime.configPath)).toBe(configBefore);
          const labels = api.labels(bed.node.name);
          expect(Object.keys(labels).filter((key) => key.includes('kata'))).toEqual([]);
          expect(await bed.node.readFile('/opt/kata/VERSION')).toBeUndefined();
          expect(await kataHandlers(bed)).toEqual([]);
          expect((await runtimeStarts(bed)) - startsBefore, 'one restart to drop the handlers').toBe(1);
        });
      });
    }
  },
);
