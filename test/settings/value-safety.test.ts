import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { KataDeployError } from '../../src/core/errors.js';
import { renderDropIn } from '../../src/payload/kata-config/toml-text.js';
import { parseSettings } from '../../src/settings/parse-settings.js';

function parse(env: Record<string, string>) {
  return parseSettings({ env: { SHIMS_X86_64: 'qemu clh', ...env }, flags: {}, arch: 'x86_64' });
}

function refusal(env: Record<string, string>): KataDeployError {
  try {
    parse(env);
  } catch (error) {
    if (error instanceof KataDeployError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env).slice(0, 80)} to be refused`);
}

describe('settings that would reach files are validated at the edge', () => {
  it.each<[string, Record<string, string>, string, RegExp]>([
    [
      'a newline in a path',
      { INSTALLATION_PREFIX: '/usr/local\n[runtime]\nenable_debug = true' },
      'INSTALLATION_PREFIX',
      /control character/,
    ],
    ['a NUL in a path', { CONTAINERD_CONFIG: '/etc/containerd/config.toml\u0000x' }, 'CONTAINERD_CONFIG', /control/],
    [
      'a space-separated kernel parameter in the agent proxy',
      { AGENT_HTTPS_PROXY: 'http://proxy:3128 init=/bin/sh' },
      'AGENT_HTTPS_PROXY',
      /is not a proxy URL/,
    ],
    [
      'a kernel parameter in one shim’s agent proxy',
      { AGENT_HTTPS_PROXY: 'qemu=http://proxy:3128 init=/bin/sh' },
      'AGENT_HTTPS_PROXY',
      /is not a proxy URL/,
    ],
    ['a proxy that is not a URL', { AGENT_HTTPS_PROXY: 'proxy.example' }, 'AGENT_HTTPS_PROXY', /not a proxy URL/],
    [
      'a kernel parameter in the agent no-proxy list',
      { AGENT_NO_PROXY: 'localhost,.svc init=/bin/sh' },
      'AGENT_NO_PROXY',
      /"\.svc init=\/bin\/sh" is not a host, domain or address/,
    ],
    ['a quote in the no-proxy list', { AGENT_NO_PROXY: 'a"b' }, 'AGENT_NO_PROXY', /not a host, domain or address/],
    ['a payload proxy that is not a URL', { HTTPS_PROXY: 'not a url' }, 'HTTPS_PROXY', /not a proxy URL/],
    ['a 100 KB value', { NODE_NAME: 'n'.repeat(100_000) }, 'NODE_NAME', /100000 characters, more than 8192/],
    ['a 100 KB payload URL', { KATA_PAYLOAD: `https://x/${'a'.repeat(100_000)}` }, 'KATA_PAYLOAD', /more than/],
  ])('refuses %s (exit 2, naming the variable)', (_what, env, variable, problem) => {
    const error = refusal(env);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(variable);
    expect(error.message).toMatch(problem);
    expect(error.hint).toMatch(/^accepted: ./);
  });

  it('keeps the forms operators use', () => {
    const settings = parse({
      AGENT_HTTPS_PROXY: 'qemu=http://proxy.corp:3128;clh=https://[fd00::1]:8443',
      AGENT_NO_PROXY: 'localhost,127.0.0.1,.svc,.cluster.local,10.0.0.0/8,[::1],*.corp',
      HTTPS_PROXY: 'socks5://proxy:1080',
      SHIMS_X86_64: 'qemu\nclh',
      STARTUP_TAINTS: 'a:NoSchedule,\tb',
    });
    expect(settings.agentHttpsProxy.perShim.get('clh')).toBe('https://[fd00::1]:8443');
    expect(settings.agentNoProxy.global).toContain('10.0.0.0/8');
    expect(settings.shims).toEqual(['qemu', 'clh']);
  });
});

describe('what we write is escaped', () => {
  it('keeps a drop-in comment one comment, whatever it contains', () => {
    const text = renderDropIn(
      ['payload installed under /x\n[runtime]\nenable_debug = true'],
      [{ table: ['hypervisor', 'qemu'], values: [['path', '/x']] }],
    );
    expect(parseToml(text)).toEqual({ hypervisor: { qemu: { path: '/x' } } });
  });
});

describe('credentials in settings are never printed', () => {
  it('refuses a payload URL with user:password, without printing either', () => {
    const error = refusal({ KATA_PAYLOAD: 'https://alice:hunter2@mirror.example/kata.tar.zst' });
    expect(error.message).toContain('KATA_PAYLOAD');
    expect(error.message).toMatch(/credentials in the URL/);
    expect(`${error.message} ${error.hint}`).not.toMatch(/alice|hunter2/);
  });

  it('does not print the password of a malformed proxy URL', () => {
    const error = refusal({ AGENT_HTTPS_PROXY: 'http://user:hunter2@proxy:3128 init=/bin/sh' });
    expect(error.message).toContain('AGENT_HTTPS_PROXY');
    expect(error.message).not.toContain('hunter2');
  });
});
