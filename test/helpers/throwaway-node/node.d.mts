/** Types for node.mjs (plain JS so benchmarks and the demo can spawn it without a build). */

export declare const DEFAULT_TMPFS: readonly string[];

/** Why a throwaway node cannot run on this machine (not root, no unshare, no systemd), or undefined. */
export declare function throwawayNodeUnsupported(): string | undefined;

export interface ThrowawayNodeOptions {
  /** Absolute or repo-relative path of the containerd binary the unit runs. */
  readonly containerd: string;
  /** Initial /etc/containerd/config.toml. */
  readonly config: string;
  /** Make containerd.service exit 1 while the merged config (config dump) has `runtimes.kata*`. */
  readonly refuseKata?: boolean;
  /** Directories mounted as private tmpfs in the node (default DEFAULT_TMPFS; /run/systemd always). */
  readonly tmpfs?: readonly string[];
  /** Modules the stand-in systemd-modules-load.service cannot load (as on a kernel built without them). */
  readonly missingModules?: readonly string[];
}

export interface RunResult {
  readonly exitCode: number;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface FileStat {
  readonly exists: boolean;
  readonly isFile?: boolean;
  readonly isDirectory?: boolean;
  readonly isSymlink?: boolean;
  readonly mode?: number;
  readonly size?: number;
}

export interface ThrowawayNode {
  /** The agent's pid: the node's mount namespace is /proc/<pid>/ns/mnt, its root /proc/<pid>/root. */
  readonly pid: number;
  /** Temp dir outside the node's tmpfs mounts: unit files, the containerd log, the start counter. */
  readonly stateDir: string;
  /** systemd's private socket, reachable from inside and outside the node: pass to --systemd-socket. */
  readonly systemdSocket: string;
  /** XDG_RUNTIME_DIR of the user manager (set for every command run in the node). */
  readonly runtimeDir: string;
  /** /run/containerd/containerd.sock as seen from outside the node (through /proc/<pid>/root). */
  readonly containerdSocket: string;
  /** A host path of the node as seen from outside (a HostFs root of `/proc/<pid>/root` works too). */
  hostPath(file: string): string;
  /** Runs argv inside the node (its mount namespace, XDG_RUNTIME_DIR set); never throws on exit codes. */
  run(
    argv: readonly string[],
    options?: { env?: Record<string, string>; timeoutMs?: number; input?: string; cwd?: string },
  ): Promise<RunResult>;
  readFile(file: string): Promise<string | undefined>;
  writeFile(file: string, content: string | Buffer): Promise<true>;
  stat(file: string): Promise<FileStat>;
  /** How many times containerd has started since the node came up (1 right after start). */
  containerdStarts(): Promise<number>;
  /** The last lines of containerd's stdout/stderr (the wrapper's refusal included). */
  containerdLog(): Promise<string>;
  /** How many times the stand-in systemd-modules-load.service ran (it "loads" by creating /sys/module/<name>). */
  modulesLoadRuns(): Promise<number>;
  closeStdin(): void;
  killNow(): void;
  /** Kills systemd, containerd, shims and commands still running, removes cgroups and temp dirs. */
  stop(): Promise<void>;
}

/** Starts a throwaway node; resolves once containerd.service is active (Type=notify READY). */
export declare function startThrowawayNode(options: ThrowawayNodeOptions): Promise<ThrowawayNode>;
