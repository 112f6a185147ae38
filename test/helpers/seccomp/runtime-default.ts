// containerd's RuntimeDefault seccomp profile, as our own data: what `seccompProfile: RuntimeDefault` gives a
// container. The facts come from containerd's contrib/seccomp/seccomp_default.go (DefaultProfile), read at
// commit 301026e58c619e63d09c0ec411012e54c0124b03 (main, 2026-08): an allowlist whose default action is
// errno (EPERM); a few syscalls allowed only for some arguments; more allowed per capability in the bounding
// set; clone limited and clone3 answered ENOSYS (so glibc falls back to clone) unless CAP_SYS_ADMIN is there.
// Names a kernel does not know (32-bit-only calls, newer ones) are skipped per architecture, as libseccomp does.

/** A syscall allowed only when argument `index` (as a 64-bit value) passes `test`. */
export interface ArgRule {
  readonly name: string;
  readonly index: number;
  /**
   * Allowed values: `masked-zero` ⇒ (arg & mask) == 0; `one-of` ⇒ arg equals one; `not-in` ⇒ outside
   * [from, to], or `except`.
   */
  readonly test:
    | { readonly kind: 'masked-zero'; readonly mask: number }
    | { readonly kind: 'one-of'; readonly values: readonly number[] }
    | { readonly kind: 'not-in'; readonly from: number; readonly to: number; readonly except?: number };
}

/** The profile for one container: plain allows, argument rules, and syscalls answered with an errno. */
export interface SeccompProfile {
  readonly allow: readonly string[];
  readonly argRules: readonly ArgRule[];
  readonly errno: readonly { readonly name: string; readonly errno: number }[];
  /** What every other syscall gets. */
  readonly defaultErrno: number;
}

export const EPERM = 1;
export const ENOSYS = 38;

const ALWAYS = `accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1
epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2
fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat
fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait
futex_waitv futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid
getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom
getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname getsockopt
get_thread_area gettid gettimeofday getuid getuid32 getxattr getxattrat inotify_add_watch inotify_init
inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents io_pgetevents_time64
ioprio_get ioprio_set io_setup io_submit ipc kill landlock_add_rule landlock_create_ruleset
landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listmount listxattr listxattrat llistxattr
_llseek lremovexattr lseek lsetxattr lsm_get_self_attr lsm_list_modules lsm_set_self_attr lstat lstat64 madvise
membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall map_shadow_stack
mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
mq_timedsend_time64 mq_unlink mremap mseal msgctl msgget msgrcv msgsnd msync munlock munlockall munmap
name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe
pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64
process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv
recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr removexattrat rename renameat renameat2
restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend
rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam
sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp
select semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid
setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority setregid
setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid
setsockopt set_thread_area set_tid_address setuid setuid32 setxattr setxattrat shmat shmctl shmdt shmget shutdown
sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64
statmount statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete
timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink
unlinkat uretprobe utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev`;

/** Allowed on kernels from 4.8 on (every kernel this project supports), whatever the capabilities. */
const FROM_KERNEL_4_8 = ['process_vm_readv', 'process_vm_writev', 'ptrace'];

const BY_ARCH: Readonly<Record<string, readonly string[]>> = {
  x64: ['arch_prctl', 'modify_ldt'],
  arm64: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'],
};

/** What each capability in the bounding set adds (CAP_SYS_ADMIN also lifts the clone limits). */
export const BY_CAPABILITY: Readonly<Record<string, readonly string[]>> = {
  DAC_READ_SEARCH: ['open_by_handle_at'],
  SYS_ADMIN: `bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr
move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2
unshare`.split(/\s+/),
  SYS_BOOT: ['reboot'],
  SYS_CHROOT: ['chroot'],
  SYS_MODULE: ['delete_module', 'init_module', 'finit_module'],
  SYS_PACCT: ['acct'],
  SYS_PTRACE: ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace'],
  SYS_RAWIO: ['iopl', 'ioperm'],
  SYS_TIME: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'],
  SYS_TTY_CONFIG: ['vhangup'],
  SYS_NICE: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'],
  SYSLOG: ['syslog'],
  BPF: ['bpf'],
  PERFMON: ['perf_event_open'],
};

const CLONE_NAMESPACE_FLAGS = 0x7e020000; // CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
const AF_ALG = 38;
const AF_VSOCK = 40;

/**
 * RuntimeDefault for a container with `capabilities` in its bounding set (names without CAP_), on `arch`
 * (process.arch). socket(2) is allowed for every address family but AF_ALG and AF_VSOCK; personality(2) for
 * the five personas the profile names.
 */
export function runtimeDefaultProfile(capabilities: readonly string[], arch: string = process.arch): SeccompProfile {
  const admin = capabilities.includes('SYS_ADMIN');
  const allow = new Set([...ALWAYS.split(/\s+/), ...FROM_KERNEL_4_8, ...(BY_ARCH[arch] ?? [])]);
  for (const cap of capabilities) for (const name of BY_CAPABILITY[cap] ?? []) allow.add(name);
  const argRules: ArgRule[] = [
    // containerd's three socket rules (< AF_ALG, == AF_ALG + 1, > AF_VSOCK): only 38 and 40 are refused.
    { name: 'socket', index: 0, test: { kind: 'not-in', from: AF_ALG, to: AF_VSOCK, except: AF_ALG + 1 } },
    { name: 'personality', index: 0, test: { kind: 'one-of', values: [0x0, 0x8, 0x20000, 0x20008, 0xffffffff] } },
  ];
  if (!admin) argRules.push({ name: 'clone', index: 0, test: { kind: 'masked-zero', mask: CLONE_NAMESPACE_FLAGS } });
  return {
    allow: [...allow].filter((name) => !argRules.some((rule) => rule.name === name)).sort(),
    argRules,
    errno: admin ? [] : [{ name: 'clone3', errno: ENOSYS }],
    defaultErrno: EPERM,
  };
}
