import { describe, expect, it } from 'vitest';
import { childProcessRunner } from '../../src/host/command-runner.js';

describe('childProcessRunner', () => {
  it('returns a non-zero exit with the program’s own stdout and stderr instead of throwing', async () => {
    const result = await childProcessRunner.run('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    expect(result).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('passes argv without a shell, so metacharacters reach the program verbatim', async () => {
    const result = await childProcessRunner.run('printf', ['%s|', '$HOME', 'a b', '; rm -rf /']);
    expect(result.stdout).toBe('$HOME|a b|; rm -rf /|');
  });

  it('reports a missing program as exit 127 naming it', async () => {
    const result = await childProcessRunner.run('/nonexistent/kata-deploy-no-such-binary', ['--version']);
    expect(result).toEqual({ exitCode: 127, stdout: '', stderr: '/nonexistent/kata-deploy-no-such-binary: not found' });
  });

  it('kills a program that outlives its timeout and reports exit 124', async () => {
    const result = await childProcessRunner.run('sleep', ['30'], { timeoutMs: 50 });
    expect(result.exitCode).toBe(124);
    expect(result.stderr).toBe('sleep: timed out');
  });

  it('feeds input on stdin and adds env to the inherited environment', async () => {
    const result = await childProcessRunner.run(
      'sh',
      ['-c', 'cat; printf "%s %s" "$KD_TEST" "$(test -n "$PATH" && echo path)"'],
      {
        input: 'in\n',
        env: { KD_TEST: 'set' },
      },
    );
    expect(result.stdout).toBe('in\nset path');
  });

  it('gives a program no stdin when there is no input (it reads EOF, never waits)', async () => {
    const result = await childProcessRunner.run('cat', []);
    expect(result).toEqual({ exitCode: 0, stdout: '', stderr: '' });
  });
});
