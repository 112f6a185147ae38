import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { installerScratch, type ScratchSpace } from '../../src/host/scratch-space.js';

/**
 * A scratch space in a temp dir of this test worker's own (removed when it exits), for validator tests
 * that have no host root: the installer's real scratch logic, without touching the machine's state.
 */
export function privateScratch(): ScratchSpace {
  const dir = mkdtempSync(path.join(tmpdir(), 'kata-test-scratch-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return installerScratch(new NodeHostFs(dir), '/');
}
