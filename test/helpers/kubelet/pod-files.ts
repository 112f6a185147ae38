// The files a kubelet writes for a pod before the runtime starts it: /etc/hosts, the hostname, resolv.conf
// (the node's, as dnsPolicy ClusterFirst falls back to without a cluster DNS), the termination log, and the
// projected ServiceAccount volume (token, ca.crt, namespace) that in-cluster clients read.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface ServiceAccountFiles {
  readonly token: string;
  readonly caPem: string;
  readonly namespace: string;
}

/** Writes the pod directory at `podDirOnHost` (the node's podDir as the host sees it, via /proc/<pid>/root). */
export function writePodFiles(
  podDirOnHost: string,
  nodeRootOnHost: string,
  podName: string,
  serviceAccount: ServiceAccountFiles,
): void {
  mkdirSync(path.join(podDirOnHost, 'serviceaccount'), { recursive: true, mode: 0o755 });
  writeFileSync(
    path.join(podDirOnHost, 'etc-hosts'),
    `# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
  );
  writeFileSync(path.join(podDirOnHost, 'hostname'), `${podName}\n`);
  const nodeResolv = path.join(nodeRootOnHost, 'etc/resolv.conf');
  if (existsSync(nodeResolv)) copyFileSync(nodeResolv, path.join(podDirOnHost, 'resolv.conf'));
  else writeFileSync(path.join(podDirOnHost, 'resolv.conf'), '');
  writeFileSync(path.join(podDirOnHost, 'termination-log'), '');
  const sa = path.join(podDirOnHost, 'serviceaccount');
  writeFileSync(path.join(sa, 'token'), serviceAccount.token, { mode: 0o644 });
  writeFileSync(path.join(sa, 'ca.crt'), serviceAccount.caPem, { mode: 0o644 });
  writeFileSync(path.join(sa, 'namespace'), serviceAccount.namespace, { mode: 0o644 });
}
