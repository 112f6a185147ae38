// The stand-in's launcher on a minimal "node" (fresh PID and mount namespaces whose PID 1 sleeps) with this
// host's root filesystem as the image: what the container sees is what the securityContext and volumes say.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPod } from '../helpers/kubelet-standin.js';

// biome-ignore lint/suspicious/noExplicitAny: a DaemonSet built inline
type Obj = Record<string, any>;

const IMAGE = { root: '/', entrypoint: ['sh', '-c'], cmd: ['true'], env: { FROM_IMAGE: 'yes' } };
const API = { host: '127.0.0.1', port: 6443, token: 'token-value', caPem: 'ca-value' };

function daemonSet(script: string, volumes: Obj[], mounts: Obj[], security: Obj, grace = 30): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'probe', namespace: 'probe-ns' },
    spec: {
      selector: { matchLabels: { app: 'probe' } },
      template: {
        metadata: { labels: { app: 'probe' } },
        spec: {
          terminationGracePeriodSeconds: grace,
          containers: [
            {
              name: 'probe',
              image: 'probe:1',
              args: [script],
              env: [{ name: 'MY_NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
              securityContext: security,
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const UNPRIVILEGED = {
  privileged: false,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'], add: ['CHOWN', 'SYS_CHROOT'] },
};

describe.skipIf(process.getuid?.() !== 0)('kubelet stand-in: the container it starts', () => {
  let node: ChildProcess;
  let leaderPid: number;
  let dir: string;
  let socketServer: Server;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kubelet-standin-'));
    mkdirSync(path.join(dir, 'dir'));
    socketServer = createServer().listen(path.join(dir, 'sock'));
    node = spawn(
      'unshare',
      ['--mount', '--propagation=private', '--pid', '--fork', '--kill-child', '--mount-proc', 'sleep', '600'],
      {
        stdio: 'ignore',
      },
    );
    for (let tries = 0; tries < 100 && leaderPid === undefined; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const children = readFileSync(`/proc/${node.pid}/task/${node.pid}/children`, 'utf8').trim();
      if (children !== '') leaderPid = Number(children.split(' ')[0]);
    }
  });
  afterAll(() => {
    node?.kill('SIGKILL');
    socketServer?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function run(ds: Obj) {
    const pod = await startPod({ daemonSet: ds, node: { name: 'node-a', leaderPid }, image: IMAGE, api: API });
    return { pod, exit: await pod.exited };
  }

  it('has only the named capabilities, no_new_privs, a read-only root and its own PID namespace', async () => {
    const script = [
      'grep -E "^(CapBnd|CapEff|CapInh|CapAmb|NoNewPrivs)" /proc/self/status',
      'echo pid1=$(cat /proc/1/comm)',
      'touch /written 2>/dev/null && echo root=rw || echo root=ro',
      'echo host=$(hostname) node=$MY_NODE image=$FROM_IMAGE api=$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT',
      'echo token=$(cat /var/run/secrets/kubernetes.io/serviceaccount/token)',
      'echo ns=$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)',
    ].join('; ');
    const { pod, exit } = await run(daemonSet(script, [], [], UNPRIVILEGED));
    expect(exit).toMatchObject({ code: 0, killedAfterGrace: false });
    const logs = pod.logs();
    // CHOWN is bit 0, SYS_CHROOT bit 18.
    expect(logs).toContain('CapBnd:\t0000000000040001');
    expect(logs).toContain('CapEff:\t0000000000040001');
    expect(logs).toContain('CapInh:\t0000000000000000');
    expect(logs).toContain('CapAmb:\t0000000000000000');
    expect(logs).toContain('NoNewPrivs:\t1');
    expect(logs).toContain('pid1=sh');
    expect(logs).toContain('root=ro');
    expect(logs).toContain(`host=${pod.plan.podName} node=node-a image=yes api=127.0.0.1:6443`);
    expect(logs).toContain('token=token-value');
    expect(logs).toContain('ns=probe-ns');
    expect(pod.events.map((entry) => entry.event.kind)).toEqual(['created', 'started', 'exited']);
  });

  it('a privileged container keeps every capability and may escalate', async () => {
    const ds = daemonSet('grep -E "^(CapBnd|NoNewPrivs)" /proc/self/status', [], [], { privileged: true });
    const { pod, exit } = await run(ds);
    expect(exit.code).toBe(0);
    expect(pod.logs()).toContain(`CapBnd:\t${readFileSync('/proc/self/status', 'utf8').match(/CapBnd:\t(\w+)/)![1]}`);
    expect(pod.logs()).toContain('NoNewPrivs:\t0');
  });

  it('mounts hostPaths with their type semantics and readOnly, and a writable emptyDir', async () => {
    const created = path.join(dir, 'made-by-kubelet');
    const volumes = [
      { name: 'made', hostPath: { path: created, type: 'DirectoryOrCreate' } },
      { name: 'dir', hostPath: { path: path.join(dir, 'dir'), type: 'Directory' } },
      { name: 'sock', hostPath: { path: path.join(dir, 'sock'), type: 'Socket' } },
      { name: 'scratch', emptyDir: {} },
    ];
    const mounts = [
      { name: 'made', mountPath: '/host/made' },
      { name: 'dir', mountPath: '/host/dir', readOnly: true },
      { name: 'sock', mountPath: '/host/run/sock' },
      { name: 'scratch', mountPath: '/scratch' },
    ];
    const script = [
      'touch /host/made/file && echo made=rw',
      'touch /host/dir/file 2>/dev/null && echo dir=rw || echo dir=ro',
      '[ -S /host/run/sock ] && echo sock=socket',
      'touch /scratch/file && echo scratch=rw',
    ].join('; ');
    const { pod, exit } = await run(daemonSet(script, volumes, mounts, UNPRIVILEGED));
    expect(exit.code, pod.logs()).toBe(0);
    expect(pod.logs()).toMatch(/made=rw[\s\S]*dir=ro[\s\S]*sock=socket[\s\S]*scratch=rw/);
    expect(statSync(created).isDirectory()).toBe(true);
    expect(existsSync(path.join(created, 'file'))).toBe(true);
    expect(existsSync(path.join(dir, 'dir', 'file'))).toBe(false);
  });

  it.each([
    ['Socket', 'dir', 'is not a socket file'],
    ['Directory', 'missing', 'is not a directory'],
    ['File', 'dir', 'is not a file'],
    ['CharDevice', 'sock', 'is not a character device'],
  ])('a %s hostPath that is not one keeps the container from starting', async (type, name, message) => {
    const volumes = [{ name: 'v', hostPath: { path: path.join(dir, name), type } }];
    const { pod, exit } = await run(daemonSet('echo ran', volumes, [{ name: 'v', mountPath: '/v' }], UNPRIVILEGED));
    expect(exit.setupFailure).toBe(`hostPath type check failed: ${path.join(dir, name)} ${message}`);
    expect(pod.eventAt('started')).toBeUndefined();
    expect(pod.logs()).not.toContain('ran');
    expect(existsSync(path.join(dir, 'missing'))).toBe(false);
  });

  it.skipIf(!existsSync('/dev/kvm'))(
    'denies /dev/kvm to an unprivileged container through the device cgroup, not to a privileged one',
    async () => {
      const volumes = [{ name: 'dev', hostPath: { path: '/dev', type: 'Directory' } }];
      const mounts = [{ name: 'dev', mountPath: '/host/dev' }];
      const script = 'if (: < /host/dev/kvm) 2>/dev/null; then echo kvm=open; else echo kvm=denied; fi';
      const unprivileged = await run(daemonSet(script, volumes, mounts, UNPRIVILEGED));
      const privileged = await run(daemonSet(script, volumes, mounts, { privileged: true }));
      expect(unprivileged.pod.logs()).toContain('kvm=denied');
      expect(privileged.pod.logs()).toContain('kvm=open');
    },
  );

  it('polls the readiness probe on the named port until it passes, and kills on a failed liveness probe', async () => {
    const port = await freePort();
    const server =
      `require('node:http').createServer((q, r) => { r.statusCode = q.url === '/' ? 200 : 404; r.end(); })` +
      `.listen(${port}, '127.0.0.1')`;
    // The image is this host's root, so the test's own Node binary is in it at the same path.
    const ds = daemonSet(`exec '${process.execPath}' -e "${server}"`, [], [], UNPRIVILEGED, 1);
    const container = ds.spec.template.spec.containers[0];
    container.ports = [{ name: 'web', containerPort: port }];
    container.readinessProbe = { httpGet: { path: '/', port: 'web' }, periodSeconds: 1 };
    container.livenessProbe = { httpGet: { path: '/missing', port: 'web' }, periodSeconds: 1, failureThreshold: 2 };
    const pod = await startPod({ daemonSet: ds, node: { name: 'node-a', leaderPid }, image: IMAGE, api: API });
    expect(await pod.whenReady()).toBe(true);
    const exit = await pod.exited;
    expect(exit.code === 0 && exit.signal === null).toBe(false);
    const kinds = pod.events.map((entry) => entry.event.kind);
    expect(kinds.slice(0, 3)).toEqual(['created', 'started', 'ready']);
    expect(kinds).toContain('liveness-failed');
    expect(kinds.indexOf('sigterm')).toBeGreaterThan(kinds.indexOf('liveness-failed'));
  });

  it('SIGTERM first, SIGKILL once the grace period has passed', async () => {
    const ds = daemonSet('trap "echo got-term" TERM; while :; do sleep 0.1; done', [], [], UNPRIVILEGED, 1);
    const pod = await startPod({ daemonSet: ds, node: { name: 'node-a', leaderPid }, image: IMAGE, api: API });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const exit = await pod.terminate();
    expect(exit.killedAfterGrace).toBe(true);
    expect(pod.logs()).toContain('got-term');
    expect(pod.events.map((entry) => entry.event.kind)).toEqual(['created', 'started', 'sigterm', 'sigkill', 'exited']);
  });
});
