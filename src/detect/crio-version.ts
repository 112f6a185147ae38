import { parseSemVer, type SemVer } from '../core/containerd-version.js';
import type { CommandRunner } from '../host/command-runner.js';
import type { HostFs } from '../host/host-fs.js';

/** The host's CRI-O release from its binary (`crio --version`), or undefined when it cannot be read. */
export async function crioVersion(fs: HostFs, runner: CommandRunner): Promise<SemVer | undefined> {
  for (const binary of ['/usr/bin/crio', '/usr/local/bin/crio']) {
    if (!(await fs.exists(binary))) continue;
    const result = await runner.run(await fs.realPath(binary), ['--version'], { timeoutMs: 10_000 });
    const line = /version\s*:?\s*v?(\d+\.\d+\.\d+)/i.exec(result.stdout);
    if (result.exitCode === 0 && line !== null) return parseSemVer(line[1]!);
  }
  return undefined;
}
