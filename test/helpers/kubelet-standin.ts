// A kubelet stand-in: starts the rendered DaemonSet's container inside a test node the way a kubelet and
// its runtime would (pod-plan.ts decides what, pod-script.ts does it), polls its probes, and stops it with
// SIGTERM then SIGKILL after the grace period. Reports the pod's phases with their times.
//
// Deviation from a real pod, on purpose: the pod shares the node's network namespace (the test bed has no
// CNI; the fake API server listens on the host's loopback, which the node shares). hostNetwork stays
// false in the manifest and everything else a pod gets is its own (PID, mount, UTS, IPC namespaces).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setprivBoundingArg } from './kubelet/capabilities.ts';
import { createPodCgroups } from './kubelet/pod-cgroup.ts';
import { writePodFiles } from './kubelet/pod-files.ts';
import { type ImageConfig, type PodPlan, planPod } from './kubelet/pod-plan.ts';
import { podScript, SETUP_FAILED_EXIT, STARTED_LINE } from './kubelet/pod-script.ts';
import { type ProbeLoop, startProbeLoop } from './kubelet/probes.ts';
import { podSeccompPrefix } from './seccomp/pod-seccomp.ts';

// biome-ignore lint/suspicious/noExplicitAny: a parsed manifest; planPod checks every field it reads
type Obj = Record<string, any>;

/** The node as the kubelet stand-in needs it: its name and the host PID of its PID 1. */
export interface PodNode {
  readonly name: string;
  readonly leaderPid: number;
}

export interface PodApiServer {
  readonly host: string;
  readonly port: number;
  readonly token: string;
  readonly caPem: string;
}

export type PodEvent =
  | { readonly kind: 'created' | 'started' | 'ready' | 'unready' | 'liveness-failed' | 'sigterm' | 'sigkill' }
  | { readonly kind: 'failed-to-start'; readonly reason: string }
  | { readonly kind: 'exited'; readonly code: number | null; readonly signal: string | null };

export interface TimedPodEvent {
  readonly at: number;
  readonly event: PodEvent;
}

export interface PodExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** Whether the kubelet had to SIGKILL it after the grace period. */
  readonly killedAfterGrace: boolean;
  /** Set when the container never started (hostPath type check, a mount). */
  readonly setupFailure?: string;
}

export interface PodOptions {
  readonly daemonSet: Obj;
  readonly node: PodNode;
  readonly image: ImageConfig;
  readonly api: PodApiServer;
  /** Where the pod listens, from the prober's side: the node's (= the host's) loopback. */
  readonly podIp?: string;
}

const PROC_CHILDREN = (pid: number) => `/proc/${pid}/task/${pid}/children`;

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(PROC_CHILDREN(pid), 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** One pod of the DaemonSet on one node. */
export class StandinPod {
  readonly events: TimedPodEvent[] = [];
  readonly plan: PodPlan;
  readonly uid = randomUUID();
  readonly exited: Promise<PodExit>;
  private output = '';
  private child: ChildProcess | undefined;
  private probes: ProbeLoop[] = [];
  private killedAfterGrace = false;
  private setupFailure: string | undefined;
  private readyWaiters: ((ready: boolean) => void)[] = [];
  private settleExit!: (exit: PodExit) => void;

  private readonly options: PodOptions;
  /** The argv prefix that puts the pod's seccomp filter on its processes (empty: unconfined). */
  private readonly seccomp: readonly string[];

  constructor(options: PodOptions) {
    this.options = options;
    this.plan = planPod(options.daemonSet, {
      nodeName: options.node.name,
      podName: `${options.daemonSet.metadata.name}-${this.uid.slice(0, 5)}`,
      podUid: this.uid,
      image: options.image,
      apiHost: options.api.host,
      apiPort: options.api.port,
    });
    this.seccomp = podSeccompPrefix(this.plan, options.image.seccompLoader);
    this.exited = new Promise((resolve) => (this.settleExit = resolve));
  }

  /** The pod directory as the node sees it (the kubelet's is /var/lib/kubelet/pods/<uid>). */
  get podDir(): string {
    return `/var/lib/kubelet/pods/${this.uid}`;
  }

  private nodePath(p: string): string {
    return path.join(`/proc/${this.options.node.leaderPid}/root`, p);
  }

  private record(event: PodEvent): void {
    this.events.push({ at: performance.now(), event });
  }

  /** Whether an event of `kind` happened, and when (performance.now()). */
  eventAt(kind: PodEvent['kind']): number | undefined {
    return this.events.find((entry) => entry.event.kind === kind)?.at;
  }

  /** Creates the pod's files and cgroups and starts the container; resolves once it was exec'd or failed. */
  async start(): Promise<void> {
    const { node, api } = this.options;
    this.record({ kind: 'created' });
    writePodFiles(this.nodePath(this.podDir), this.nodePath('/'), this.plan.podName, {
      token: api.token,
      caPem: api.caPem,
      namespace: this.plan.namespace,
    });
    const cgroups = createPodCgroups(this.uid, this.plan.memoryLimitBytes, this.plan.privileged);
    const joinCgroups = cgroups.procsFiles.map((file) => `echo $$ > '${file}'`).join(' && ');
    const argv = [
      ...['nsenter', `--target=${node.leaderPid}`, '--mount', '--uts', '--ipc', '--net', '--pid', '--'],
      ...['unshare', '--mount', '--propagation=slave', '--uts', '--ipc', '--pid', '--fork', '--kill-child', '--'],
      ...['sh', '-c', podScript(this.plan, { podDir: this.podDir }, this.seccomp)],
    ];
    const child = spawn('sh', ['-c', `${joinCgroups || 'true'} && exec "$@"`, 'pod', ...argv], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    const started = new Promise<void>((resolve) => {
      (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
        if (chunk.toString().includes(STARTED_LINE)) {
          this.record({ kind: 'started' });
          this.startProbes();
        }
        resolve();
      });
      child.once('exit', () => resolve());
    });
    child.once('exit', (code, signal) => {
      for (const probe of this.probes) probe.stop();
      if (code === SETUP_FAILED_EXIT && this.eventAt('started') === undefined) {
        this.setupFailure = this.output.match(/kubelet-standin: (.*)/)?.[1] ?? this.output.trim();
        this.record({ kind: 'failed-to-start', reason: this.setupFailure });
      }
      this.record({ kind: 'exited', code, signal });
      for (const waiter of this.readyWaiters.splice(0)) waiter(false);
      cgroups.remove();
      rmSync(this.nodePath(this.podDir), { recursive: true, force: true });
      this.settleExit({
        code,
        signal,
        killedAfterGrace: this.killedAfterGrace,
        ...(this.setupFailure === undefined ? {} : { setupFailure: this.setupFailure }),
      });
    });
    await started;
  }

  private startProbes(): void {
    const host = this.options.podIp ?? '127.0.0.1';
    const { readiness, liveness } = this.plan;
    if (readiness !== undefined)
      this.probes.push(
        startProbeLoop(readiness, host, false, (ready) => {
          this.record({ kind: ready ? 'ready' : 'unready' });
          if (ready) for (const waiter of this.readyWaiters.splice(0)) waiter(true);
        }),
      );
    if (liveness !== undefined)
      this.probes.push(
        startProbeLoop(liveness, host, true, () => {
          this.record({ kind: 'liveness-failed' });
          void this.terminate();
        }),
      );
  }

  /** Resolves true once the readiness probe passed, false if the container exited first. */
  whenReady(): Promise<boolean> {
    if (this.eventAt('ready') !== undefined) return Promise.resolve(true);
    if (this.eventAt('exited') !== undefined) return Promise.resolve(false);
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** The host PID of the container's main process (PID 1 of the pod's PID namespace). */
  mainPid(): number | undefined {
    const spawned = this.child?.pid;
    if (spawned === undefined) return undefined;
    const unshare = childrenOf(spawned)[0];
    return unshare === undefined ? undefined : childrenOf(unshare)[0];
  }

  /**
   * `kubectl exec`: runs argv in the running container (its namespaces and root, its capabilities,
   * no_new_privs, seccomp filter and environment), as the runtime's exec does.
   */
  exec(argv: readonly string[]): Promise<{ readonly code: number | null; readonly stdout: string; stderr: string }> {
    const pid = this.mainPid();
    if (pid === undefined) return Promise.reject(new Error('the container is not running'));
    const enter = ['--target', String(pid), '--mount', '--uts', '--ipc', '--net', '--pid', '--root', '--wd'];
    const setpriv = ['/usr/bin/setpriv', '--inh-caps=-all', '--ambient-caps=-all'];
    if (this.plan.capabilities !== undefined)
      setpriv.push(`--bounding-set=${setprivBoundingArg(this.plan.capabilities)}`);
    if (this.plan.noNewPrivs) setpriv.push('--no-new-privs');
    const env = this.plan.env.map(([name, value]) => `${name}=${value}`);
    const child = spawn(
      'nsenter',
      [...enter, '--', ...this.seccomp, ...setpriv, '--', '/usr/bin/env', '-i', ...env, ...argv],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  /** Resolves once the container's output has a line matching `pattern`; rejects if it exits first. */
  logLine(pattern: RegExp): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.output.split('\n').find((entry) => pattern.test(entry));
        if (line !== undefined) {
          clearInterval(timer);
          resolve(line);
        } else if (this.eventAt('exited') !== undefined) {
          clearInterval(timer);
          reject(new Error(`the container exited before logging ${pattern}:\n${this.output.slice(-4000)}`));
        }
      };
      const timer = setInterval(check, 5);
      check();
    });
  }

  /** Everything the container (and the setup before it) wrote to stdout and stderr. */
  logs(): string {
    return this.output;
  }

  /** The kubelet's kill: SIGTERM, then SIGKILL once terminationGracePeriodSeconds have passed. */
  async terminate(): Promise<PodExit> {
    const pid = this.mainPid();
    if (this.eventAt('exited') === undefined && pid !== undefined) {
      this.record({ kind: 'sigterm' });
      process.kill(pid, 'SIGTERM');
      const grace = setTimeout(() => {
        this.killedAfterGrace = true;
        this.kill();
      }, this.plan.terminationGracePeriodSeconds * 1000);
      await this.exited;
      clearTimeout(grace);
    }
    return this.exited;
  }

  /** SIGKILL to the container's main process: the kernel then kills the whole pod PID namespace. */
  kill(): void {
    const pid = this.mainPid();
    if (pid === undefined || this.eventAt('exited') !== undefined) return;
    this.record({ kind: 'sigkill' });
    process.kill(pid, 'SIGKILL');
  }
}

/** Starts the DaemonSet's pod on `options.node` and waits until its container was exec'd (or failed). */
export async function startPod(options: PodOptions): Promise<StandinPod> {
  const pod = new StandinPod(options);
  await pod.start();
  return pod;
}
