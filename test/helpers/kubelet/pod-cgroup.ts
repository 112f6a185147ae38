// The pod's cgroups on this host's cgroup v1 hierarchies: the memory limit from resources.limits.memory and,
// for an unprivileged container, the runtime's default device list (everything else denied, /dev/kvm
// included), as runc writes them. Created below this process's own cgroups, so nothing outside moves.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const V1 = '/sys/fs/cgroup';

/** runc's default allow list for a non-privileged container (the OCI spec's default devices). */
export const DEFAULT_DEVICE_RULES: readonly string[] = [
  'c *:* m',
  'b *:* m',
  'c 1:3 rwm',
  'c 1:5 rwm',
  'c 1:7 rwm',
  'c 1:8 rwm',
  'c 1:9 rwm',
  'c 5:0 rwm',
  'c 5:1 rwm',
  'c 5:2 rwm',
  'c 136:* rwm',
  'c 10:200 rwm',
];

function ownCgroup(controller: string): string | undefined {
  const line = readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((entry) => entry.split(':')[1]?.split(',').includes(controller));
  return line?.split(':')[2];
}

export interface PodCgroups {
  /** cgroup.procs files the pod's first process writes its PID to. */
  readonly procsFiles: readonly string[];
  remove(): void;
}

/** Makes the pod's cgroups; controllers this host lacks are left out (and said so in `missing`). */
export function createPodCgroups(
  podUid: string,
  memoryLimitBytes: number | undefined,
  privileged: boolean,
): PodCgroups & { readonly missing: readonly string[] } {
  const dirs: string[] = [];
  const missing: string[] = [];
  const make = (controller: string): string | undefined => {
    const own = ownCgroup(controller);
    const root = path.join(V1, controller);
    if (own === undefined || !existsSync(path.join(root, 'cgroup.procs'))) {
      missing.push(controller);
      return undefined;
    }
    const dir = path.join(root, own, `kubelet-standin-${podUid}`);
    mkdirSync(dir, { recursive: true });
    dirs.push(dir);
    return dir;
  };
  if (memoryLimitBytes !== undefined) {
    const memory = make('memory');
    if (memory !== undefined) writeFileSync(path.join(memory, 'memory.limit_in_bytes'), String(memoryLimitBytes));
  }
  if (!privileged) {
    const devices = make('devices');
    if (devices !== undefined) {
      writeFileSync(path.join(devices, 'devices.deny'), 'a');
      for (const rule of DEFAULT_DEVICE_RULES) writeFileSync(path.join(devices, 'devices.allow'), rule);
    }
  }
  return {
    procsFiles: dirs.map((dir) => path.join(dir, 'cgroup.procs')),
    missing,
    remove() {
      for (const dir of dirs) {
        try {
          rmdirSync(dir);
        } catch {
          // Still populated (a process outlived the pod): left for the node's teardown to kill.
        }
      }
    },
  };
}
