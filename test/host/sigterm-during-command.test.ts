import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DIST = path.resolve(import.meta.dirname, '../../dist');

/** Runs an ES module script in a fresh Node process (the built modules), returning how it ended. */
function runScript(
  script: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 }, (error, stdout, stderr) => {
      const failure = error as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
      resolve({
        code: failure === null ? 0 : typeof failure.code === 'number' ? failure.code : null,
        signal: failure?.signal ?? null,
        stdout,
        stderr,
      });
    });
  });
}

describe('SIGTERM while a host program runs', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'kata-deploy-sigterm-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('reaches the teardown: the signal is ours, not a re-raise by a child-process cleanup hook', async () => {
    const script = `
      import { terminationSignal } from '${DIST}/modes/daemon-signals.js';
      import { childProcessRunner } from '${DIST}/host/command-runner.js';
      const termination = terminationSignal();
      const inFlight = childProcessRunner.run('sleep', ['1']);
      process.kill(process.pid, 'SIGTERM');
      const signal = await termination.signal;
      // The teardown runs host programs too; a second signal must not cut it short either.
      const teardown = childProcessRunner.run('sleep', ['1']);
      process.kill(process.pid, 'SIGTERM');
      const [first, second] = await Promise.all([inFlight, teardown]);
      termination.dispose();
      console.log(JSON.stringify({ signal, first: first.exitCode, second: second.exitCode }));
    `;
    const ended = await runScript(script);
    expect(ended.signal, ended.stderr).toBeNull();
    expect(ended.code, ended.stderr).toBe(0);
    expect(JSON.parse(ended.stdout)).toEqual({ signal: 'SIGTERM', first: 0, second: 0 });
  });

  it('still kills the programs it started when this process exits', async () => {
    const pidFile = path.join(scratch, 'child.pid');
    const script = `
      import { existsSync } from 'node:fs';
      import { childProcessRunner } from '${DIST}/host/command-runner.js';
      void childProcessRunner.run('sh', ['-c', 'echo $$ > "$0"; exec sleep 30', '${pidFile}']);
      while (!existsSync('${pidFile}')) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 50));
      process.exit(0);
    `;
    const ended = await runScript(script);
    expect(ended.code, ended.stderr).toBe(0);
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    let alive = true;
    for (let tries = 0; tries < 200 && alive; tries++) {
      try {
        process.kill(pid, 0);
        await new Promise((resolve) => setTimeout(resolve, 20));
      } catch {
        alive = false;
      }
    }
    expect(alive, `sleep (pid ${pid}) outlived the process that started it`).toBe(false);
  });
});
