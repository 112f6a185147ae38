// The container runtime's part, as one `sh` script that runs as PID 1 of the pod's fresh PID, mount, UTS and
// IPC namespaces inside the node: the image as an overlay (the writable layer a snapshotter gives), the
// kubelet's volumes with their hostPath type checks, /proc, /dev, /sys, the ServiceAccount files, then
// pivot_root into it, the read-only remount, and the image's own setpriv to drop capabilities and set
// no_new_privs before exec'ing the entrypoint, under the pod's seccomp filter.
// Pure text, so its rules are tested without a node.
import { setprivBoundingArg } from './capabilities.ts';
import type { PodMount, PodPlan } from './pod-plan.ts';

/** Where the kubelet keeps a pod's files on the node (its real layout is /var/lib/kubelet/pods/<uid>). */
export interface PodDirs {
  /** The pod's directory on the node; the stand-in writes etc-hosts, hostname, serviceaccount/ there. */
  readonly podDir: string;
}

/** Exit status of the script when the kubelet would not start the container (hostPath type, mounts). */
export const SETUP_FAILED_EXIT = 97;
/** The line the script writes on fd 3 right before it execs the entrypoint. */
export const STARTED_LINE = 'container-started';

export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** How the kubelet checks a hostPath before mounting it (pkg/volume/hostpath: checkType). */
function hostPathCheck(mount: Extract<PodMount, { kind: 'hostPath' }>): string {
  const source = shellQuote(mount.source);
  const fail = (what: string) => `fail ${shellQuote(`hostPath type check failed: ${mount.source} ${what}`)}`;
  switch (mount.type) {
    case 'DirectoryOrCreate':
      return `[ -e ${source} ] || mkdir -p -m 0755 ${source}; [ -d ${source} ] || ${fail('is not a directory')}`;
    case 'FileOrCreate':
      return `[ -e ${source} ] || install -m 0644 /dev/null ${source}; [ -f ${source} ] || ${fail('is not a file')}`;
    case 'Directory':
      return `[ -d ${source} ] || ${fail('is not a directory')}`;
    case 'File':
      return `[ -f ${source} ] || ${fail('is not a file')}`;
    case 'Socket':
      return `[ -S ${source} ] || ${fail('is not a socket file')}`;
    case 'CharDevice':
      return `[ -c ${source} ] || ${fail('is not a character device')}`;
    case '':
      return `[ -e ${source} ] || ${fail('does not exist')}`;
  }
}

/** Longest-path-last order: a parent mount never hides a child (containerd sorts CRI mounts the same way). */
function byDepth<T extends { readonly target: string }>(mounts: readonly T[]): T[] {
  const depth = (target: string) => target.split('/').filter((part) => part !== '').length;
  return [...mounts].sort((a, b) => depth(a.target) - depth(b.target));
}

function mountVolume(mount: PodMount, podDir: string): string[] {
  const target = `"$ROOT$(inroot ${shellQuote(mount.target)})"`;
  if (mount.kind === 'emptyDir') {
    const dir = shellQuote(`${podDir}/volumes/empty-dir/${mount.volume}`);
    const make = mount.memory ? `mount -t tmpfs -o nosuid,nodev tmpfs ${dir}` : `true`;
    return [`mkdir -p ${dir}`, make, `mkdir -p ${target}`, `mount --bind ${dir} ${target}`];
  }
  const source = shellQuote(mount.source);
  const lines = [
    `if [ -d ${source} ]; then mkdir -p ${target}; else mkdirp_file ${target}; fi`,
    `mount --rbind ${source} ${target}`,
    `mount --make-r${mount.propagation.replace(/^r/, '')} ${target}`,
  ];
  if (mount.readOnly) lines.push(`mount -o remount,bind,ro ${target}`);
  return lines;
}

function kernelFilesystems(plan: PodPlan): string[] {
  const sysOptions = plan.privileged ? 'nosuid,nodev,noexec' : 'ro,nosuid,nodev,noexec';
  const devices = plan.privileged
    ? ['mount --rbind /dev "$ROOT/dev"']
    : [
        'mount -t tmpfs -o nosuid,mode=755,size=65536k tmpfs "$ROOT/dev"',
        ...DEVICES.map((dev) => `touch "$ROOT/dev/${dev}" && mount --bind /dev/${dev} "$ROOT/dev/${dev}"`),
        'mkdir -p "$ROOT/dev/pts" "$ROOT/dev/shm"',
        'mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$ROOT/dev/pts"',
        'ln -s pts/ptmx "$ROOT/dev/ptmx"',
        'mount -t tmpfs -o nosuid,nodev,noexec,mode=1777,size=65536k shm "$ROOT/dev/shm"',
        'ln -s /proc/self/fd "$ROOT/dev/fd"',
        'ln -s /proc/self/fd/0 "$ROOT/dev/stdin"',
        'ln -s /proc/self/fd/1 "$ROOT/dev/stdout"',
        'ln -s /proc/self/fd/2 "$ROOT/dev/stderr"',
      ];
  return [
    'mkdir -p "$ROOT/proc" "$ROOT/dev" "$ROOT/sys"',
    'mount -t proc -o nosuid,nodev,noexec proc "$ROOT/proc"',
    ...devices,
    `mount -t sysfs -o ${sysOptions} sysfs "$ROOT/sys"`,
  ];
}

function kubeletFiles(podDir: string): string[] {
  const files: [string, string][] = [
    ['etc-hosts', '/etc/hosts'],
    ['hostname', '/etc/hostname'],
    ['resolv.conf', '/etc/resolv.conf'],
    ['termination-log', '/dev/termination-log'],
  ];
  return [
    ...files.map(([file, target]) => {
      const inRoot = `"$ROOT$(inroot ${target})"`;
      return `mkdirp_file ${inRoot} && mount --bind ${shellQuote(`${podDir}/${file}`)} ${inRoot}`;
    }),
    `mkdir -p "$ROOT$(inroot ${SERVICE_ACCOUNT_DIR})"`,
    `mount --bind ${shellQuote(`${podDir}/serviceaccount`)} "$ROOT$(inroot ${SERVICE_ACCOUNT_DIR})"`,
    `mount -o remount,bind,ro "$ROOT$(inroot ${SERVICE_ACCOUNT_DIR})"`,
  ];
}

function entrypoint(plan: PodPlan, seccomp: readonly string[]): string {
  const setpriv = ['/usr/bin/setpriv', '--inh-caps=-all', '--ambient-caps=-all'];
  if (plan.capabilities !== undefined) setpriv.push(`--bounding-set=${setprivBoundingArg(plan.capabilities)}`);
  if (plan.noNewPrivs) setpriv.push('--no-new-privs');
  const env = plan.env.map(([name, value]) => `${name}=${value}`);
  const argv = [...seccomp, ...setpriv, '--', '/usr/bin/env', '-i', ...env, ...plan.argv];
  return `exec ${argv.map(shellQuote).join(' ')}`;
}

/**
 * The whole setup, ending in the exec of the container's entrypoint; `seccomp` (pod-seccomp.ts) prefixes
 * that exec with the loader of the pod's seccomp filter, as runc installs it right before the entrypoint.
 */
export function podScript(plan: PodPlan, dirs: PodDirs, seccomp: readonly string[] = []): string {
  const podDir = dirs.podDir;
  const hostPaths = plan.volumes.filter((volume) => volume.kind === 'hostPath');
  const mounted = plan.volumes.filter((volume) => volume.target !== '');
  return [
    'set -eu',
    `fail() { echo "kubelet-standin: $1" >&2; exit ${SETUP_FAILED_EXIT}; }`,
    // Resolves a container path against the image root, so an image symlink (/var/run -> /run) is
    // followed inside the image, never into the node.
    'inroot() { chroot "$ROOT" /usr/bin/realpath -m "$1"; }',
    'mkdirp_file() { mkdir -p "$(dirname "$1")"; [ -e "$1" ] || : > "$1"; }',
    `hostname ${shellQuote(plan.podName)}`,
    ...hostPaths.map(hostPathCheck),
    `ROOT=${shellQuote(`${podDir}/rootfs`)}`,
    `LAYER=${shellQuote(`${podDir}/layer`)}`,
    'mkdir -p "$ROOT" "$LAYER"',
    'mount -t tmpfs -o mode=0755 tmpfs "$LAYER"',
    'mkdir -p "$LAYER/upper" "$LAYER/work"',
    `mount -t overlay -o lowerdir=${shellQuote(plan.imageRoot)},upperdir="$LAYER/upper",workdir="$LAYER/work" ` +
      'overlay "$ROOT"',
    'mount --make-private "$ROOT"',
    ...kernelFilesystems(plan),
    ...kubeletFiles(podDir),
    ...byDepth(mounted).flatMap((mount) => mountVolume(mount, podDir)),
    plan.readOnlyRoot ? 'mount -o remount,bind,ro "$ROOT"' : 'true',
    'cd "$ROOT"',
    'pivot_root . .',
    'umount -l .',
    `cd ${shellQuote(plan.workingDir)}`,
    `echo ${STARTED_LINE} >&3`,
    'exec 3>&-',
    entrypoint(plan, seccomp),
    '',
  ].join('\n');
}
