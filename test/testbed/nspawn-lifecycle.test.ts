import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bootNode,
  type NspawnNode,
  nspawnNodeUnsupported,
  processRunning,
  sweepAbandonedNodes,
} from '../helpers/nspawn-node.js';

const unsupported = nspawnNodeUnsupported();

function startTime(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The node's own top cgroup (v2), as the host sees it. */
function topCgroup(node: NspawnNode): string {
  const own = /^0::(\/[^/\n]+)/m.exec(readFileSync(`/proc/${node.pid}/cgroup`, 'utf8'))?.[1];
  expect(own).toBeDefined();
  return ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].map((mount) => `${mount}${own}`).find(existsSync) ?? '';
}

describe.skipIf(unsupported !== undefined)('stopping an nspawn node', () => {
  it('powers it off and leaves no process, cgroup, overlay mount or temp dir', async () => {
    const node = await bootNode({ kind: 'containerd-1.6' });
    const dir = path.dirname(node.root);
    const cgroup = topCgroup(node);
    const listed = spawnSync('sh', ['-c', 'find "$1" -name cgroup.procs -exec cat {} +', 'sh', cgroup], {
      encoding: 'utf8',
    });
    const pids = listed.stdout.split('\n').filter(Boolean).map(Number);
    expect(pids).toContain(node.pid);
    expect(pids.length).toBeGreaterThan(4);
    // A PID with its start time: the same number may be reused by a new process once this one is gone.
    const started = new Map(pids.map((pid) => [pid, startTime(pid)]));
    await node.stop();
    expect(pids.filter((pid) => processRunning(pid) && startTime(pid) === started.get(pid))).toEqual([]);
    expect(existsSync(cgroup)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(node.root);
    await node.stop();
  });
});

describe.skipIf(unsupported !== undefined)('an nspawn node whose test process died without stop()', () => {
  it('is swept by the next boot: its processes, cgroups, overlay mount and temp dir are gone', async () => {
    const node = await bootNode({ kind: 'containerd-1.6' });
    const dir = path.dirname(node.root);
    const cgroup = topCgroup(node);
    try {
      const record = JSON.parse(readFileSync(path.join(dir, 'node.json'), 'utf8'));
      const gone = spawnSync('true').pid;
      writeFileSync(path.join(dir, 'node.json'), JSON.stringify({ ...record, owner: gone }));
      // A boot in a parallel test file may sweep it first; either way it is gone afterwards.
      sweepAbandonedNodes(tmpdir());
      expect(processRunning(node.pid)).toBe(false);
      expect(existsSync(dir)).toBe(false);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(node.root);
      expect(existsSync(cgroup)).toBe(false);
    } finally {
      await node.stop();
    }
  });
});
