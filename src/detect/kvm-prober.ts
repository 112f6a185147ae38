import { closeSync, constants, openSync } from 'node:fs';

/** What the kernel answered when asked to act as a hypervisor through a device node. */
export type KvmProbe =
  | {
      readonly ok: true;
      readonly apiVersion: number;
      readonly vmCreated: boolean;
      /** The errno of a failed KVM_CREATE_VM (ENOMEM, EBUSY, …), for the operator's message. */
      readonly vmErrno?: number;
    }
  | {
      readonly ok: false;
      readonly reason: string;
      /**
       * Set when the device could not even be opened for lack of permission: EPERM is a device cgroup
       * (an unprivileged pod), EACCES the file mode. Nothing is then known about the ioctls.
       */
      readonly openDenied?: 'EPERM' | 'EACCES';
    };

/**
 * The port that proves /dev/kvm is really KVM: it must answer KVM_GET_API_VERSION (12 on every kernel
 * since 2.6.22) and create a VM. A device check alone is not proof (a bind-mounted /dev/null opens fine),
 * and cpuinfo is not either (nested hosts without vmx/svm flags run KVM).
 */
export interface KvmProber {
  probe(realDevicePath: string): Promise<KvmProbe>;
}

const O_CLOEXEC = 0o2000000;
const KVM_GET_API_VERSION = 0xae00;
const KVM_CREATE_VM = 0xae01;
const EINTR = 4;
/** A signal (SIGCHLD of a child, a profiler's SIGPROF) can interrupt KVM_CREATE_VM; it is then asked again. */
const INTERRUPTED_TRIES = 10;

/**
 * Issues the two ioctls through libc with koffi (prebuilt FFI, no compiler on the node). Chosen over
 * asking qemu because it needs no hypervisor binary and answers in microseconds on any node.
 */
export const ioctlKvmProber: KvmProber = {
  async probe(realDevicePath) {
    let koffi: typeof import('koffi').default;
    try {
      koffi = (await import('koffi')).default;
    } catch (error) {
      return { ok: false, reason: `cannot load the FFI module to issue KVM ioctls: ${(error as Error).message}` };
    }
    let fd: number;
    try {
      fd = openSync(realDevicePath, constants.O_RDWR | O_CLOEXEC);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = `cannot open ${realDevicePath}: ${code ?? (error as Error).message}`;
      return code === 'EPERM' || code === 'EACCES' ? { ok: false, reason, openDenied: code } : { ok: false, reason };
    }
    try {
      const libc = koffi.load('libc.so.6');
      const ioctl = libc.func('int ioctl(int fd, unsigned long request, ...)');
      const close = libc.func('int close(int fd)');
      const request = (code: number): { result: number; errno: number } => {
        for (let tries = 1; ; tries += 1) {
          const result = ioctl(fd, code, 'unsigned long', 0) as number;
          const errno = result < 0 ? koffi.errno() : 0;
          if (errno !== EINTR || tries === INTERRUPTED_TRIES) return { result, errno };
        }
      };
      const apiVersion = request(KVM_GET_API_VERSION);
      if (apiVersion.result < 0) return { ok: false, reason: `KVM_GET_API_VERSION failed (errno ${apiVersion.errno})` };
      const vm = request(KVM_CREATE_VM);
      if (vm.result >= 0) close(vm.result);
      return vm.result >= 0
        ? { ok: true, apiVersion: apiVersion.result, vmCreated: true }
        : { ok: true, apiVersion: apiVersion.result, vmCreated: false, vmErrno: vm.errno };
    } finally {
      closeSync(fd);
    }
  },
};
