import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A declared file tree: host path → file content, or `{ symlink: target }`, or `{ dir: true }`. */
export type TreeSpec = Record<string, string | Buffer | { symlink: string } | { dir: true }>;

/** A temporary host root built from a declared tree, removed by `cleanup`. */
export interface TempRoot {
  readonly root: string;
  cleanup(): Promise<void>;
}

export async function makeTempRoot(tree: TreeSpec = {}): Promise<TempRoot> {
  const root = await mkdtemp(path.join(tmpdir(), 'kata-deploy-test-'));
  for (const [hostPath, spec] of Object.entries(tree)) {
    const real = path.join(root, hostPath);
    await mkdir(path.dirname(real), { recursive: true });
    if (typeof spec === 'string' || Buffer.isBuffer(spec)) await writeFile(real, spec);
    else if ('symlink' in spec) await symlink(spec.symlink, real);
    else await mkdir(real, { recursive: true });
  }
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}
