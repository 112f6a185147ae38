import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML read field by field
type Obj = Record<string, any>;

/** One hostPath volume as the container sees it. */
export interface PodMount {
  readonly host: string;
  readonly at: string;
  readonly type: string;
  readonly readOnly: boolean;
}

/** What the rendered daemonset.yaml grants its container: mounts, capabilities, no_new_privs, read-only root. */
export interface PodGrant {
  readonly mounts: readonly PodMount[];
  /** `capabilities.add`, as the manifest spells them (CHOWN, …). */
  readonly capabilities: readonly string[];
  readonly noNewPrivs: boolean;
  readonly readOnlyRoot: boolean;
}

const MANIFEST = path.resolve(import.meta.dirname, '../../daemonset.yaml');

/** Reads the grant from the rendered daemonset.yaml, so a test runs with exactly what the manifest says. */
export function podGrant(): PodGrant {
  const objects = loadAllYaml(readFileSync(MANIFEST, 'utf8')) as Obj[];
  const pod = objects.find((o) => o.kind === 'DaemonSet')!.spec.template.spec;
  const container = pod.containers[0];
  const volumes = new Map<string, Obj>(pod.volumes.map((v: Obj) => [v.name, v.hostPath]));
  const context = container.securityContext ?? {};
  if (!(context.capabilities?.drop ?? []).includes('ALL')) throw new Error('daemonset.yaml does not drop ALL');
  return {
    mounts: (container.volumeMounts as Obj[]).map((m) => ({
      host: volumes.get(m.name)!.path,
      at: m.mountPath,
      type: volumes.get(m.name)!.type ?? '',
      readOnly: m.readOnly === true,
    })),
    capabilities: context.capabilities?.add ?? [],
    noNewPrivs: context.allowPrivilegeEscalation === false,
    readOnlyRoot: context.readOnlyRootFilesystem === true,
  };
}

/** Quotes one word for sh. */
function sh(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * A shell script that, run as root inside a throwaway node's mount namespace, enters a new mount
 * namespace and builds the container's view: `podDir` holds `host/` with exactly the grant's hostPath
 * volumes (parents first, as containerd orders them; read-only where the manifest says; a missing
 * DirectoryOrCreate path becomes an empty tmpfs so the node's real root gains no directory), the
 * container root and every other mount are made read-only, and then `argv` is exec'ed under setpriv
 * with the grant's capabilities as bounding set (minus `without`), no inheritable caps and no_new_privs.
 * `sources` maps a host path to the file that stands for it (the node's systemd socket); `omit` leaves
 * volumes out (a manifest that forgot one).
 */
export function podScript(
  grant: PodGrant,
  podDir: string,
  argv: readonly string[],
  options: { sources?: Record<string, string>; without?: readonly string[]; omit?: readonly string[] } = {},
): string[] {
  const host = path.join(podDir, 'host');
  const lines = ['set -e', `mkdir -p ${sh(podDir)}`, `mount -t tmpfs pod ${sh(podDir)}`];
  const byDepth = grant.mounts
    .filter((mount) => !(options.omit ?? []).includes(mount.host))
    .sort((a, b) => a.at.split('/').length - b.at.split('/').length);
  for (const mount of byDepth) {
    const at = path.join(podDir, mount.at);
    const source = options.sources?.[mount.host] ?? mount.host;
    const file = ['File', 'Socket', 'FileOrCreate', 'CharDevice'].includes(mount.type);
    lines.push(file ? `mkdir -p ${sh(path.dirname(at))}; touch ${sh(at)}` : `mkdir -p ${sh(at)}`);
    const bind = `mount --rbind ${sh(source)} ${sh(at)}`;
    lines.push(
      mount.type === 'DirectoryOrCreate'
        ? `if [ -d ${sh(source)} ]; then ${bind}; else mount -t tmpfs none ${sh(at)}; fi`
        : bind,
    );
    if (mount.readOnly) lines.push(`mount -o remount,bind,ro ${sh(at)}`);
  }
  if (grant.readOnlyRoot) {
    // Everything mounted outside the pod dir (/, the node's tmpfs dirs) read-only: only hostPaths stay writable.
    lines.push(
      `for m in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do case "$m" in ` +
        `${sh(host)}*|/proc*|/sys*|/dev*) ;; *) mount -o remount,bind,ro "$m" 2>/dev/null || true ;; esac; done`,
      `mount -o remount,bind,ro ${sh(podDir)}`,
    );
  }
  const kept = grant.capabilities.filter((cap) => !(options.without ?? []).includes(cap));
  const bounding = ['-all', ...kept.map((cap) => `+${cap.toLowerCase()}`)].join(',');
  const setpriv = ['setpriv', `--bounding-set=${bounding}`, '--inh-caps=-all'];
  if (grant.noNewPrivs) setpriv.push('--no-new-privs');
  lines.push(`cd /`, `exec ${[...setpriv, ...argv].map(sh).join(' ')}`);
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', lines.join('\n')];
}
