import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createKube, SERVICE_ACCOUNT_DIR } from '../../src/kube/create-kube.js';
import { classifyFailure, parseRetryAfter } from '../../src/kube/api-call.js';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
import { instantClock } from '../helpers/instant-clock.js';
import { capturedLog } from '../helpers/captured-log.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kata-deploy-createkube-'));
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

describe('createKube', () => {
  it('skips API work with one log line on bare metal without a kubeconfig', () => {
    const { log, records: lines } = capturedLog();
    expect(
      createKube({ kubeconfig: undefined, nodeName: 'n1' }, log, { serviceAccountDir: path.join(dir, 'none') }),
    ).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toMatch(/no kubeconfig .* the node is still installed/);
  });

  it('skips API work with one log line without a node name', () => {
    const { log, records: lines } = capturedLog();
    expect(createKube({ kubeconfig: path.join(dir, 'kubeconfig'), nodeName: undefined }, log)).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toMatch(/no node name/);
  });

  it('an unreadable kubeconfig is a kube-api error naming the file', () => {
    const file = path.join(dir, 'missing-kubeconfig');
    expect(() => createKube({ kubeconfig: file, nodeName: 'n1' }, capturedLog().log)).toThrow(
      expect.objectContaining({ code: 'kube-api', message: expect.stringContaining(file) }),
    );
  });

  it('uses the kubeconfig and its context namespace on bare metal', async () => {
    const api = await new FakeKubeApi().start();
    try {
      api.addNode('n1');
      const access = createKube(
        { kubeconfig: api.writeKubeconfig(path.join(dir, 'kubeconfig'), 'kube-system'), nodeName: 'n1' },
        capturedLog().log,
        { serviceAccountDir: path.join(dir, 'none') },
      );
      expect(access?.namespace).toBe('kube-system');
      expect((await access!.kube.getNode('n1')).metadata?.uid).toBe('uid-n1');
    } finally {
      await api.stop();
    }
  });

  it('uses the pod ServiceAccount (token, CA, namespace) when running in a cluster', async () => {
    const api = await new FakeKubeApi().start();
    try {
      api.addNode('n1');
      const sa = path.join(dir, SERVICE_ACCOUNT_DIR);
      mkdirSync(sa, { recursive: true });
      writeFileSync(path.join(sa, 'token'), 'fake-token');
      writeFileSync(path.join(sa, 'namespace'), 'kata-deploy\n');
      writeFileSync(path.join(sa, 'ca.crt'), api.caPem());
      const url = new URL(api.url);
      vi.stubEnv('KUBERNETES_SERVICE_HOST', url.hostname);
      vi.stubEnv('KUBERNETES_SERVICE_PORT', url.port);
      const access = createKube({ kubeconfig: undefined, nodeName: 'n1' }, capturedLog().log, {
        serviceAccountDir: sa,
        clock: instantClock(),
      });
      expect(access?.namespace).toBe('kata-deploy');
      expect((await access!.kube.getNode('n1')).metadata?.name).toBe('n1');
    } finally {
      await api.stop();
    }
  });
});

describe('API failure classes', () => {
  it.each([
    ['409 is a conflict to re-read', { code: 409 }, { kind: 'conflict' }],
    ['404 is not found', { code: 404 }, { kind: 'not-found' }],
    ['403 is forbidden', { code: 403 }, { kind: 'forbidden', status: 403 }],
    [
      '429 is transient and carries Retry-After',
      { code: 429, headers: { 'retry-after': '2' } },
      { kind: 'transient', retryAfterMs: 2000 },
    ],
    ['503 is transient', { code: 503, headers: {} }, { kind: 'transient' }],
    [
      '422 is fatal',
      { code: 422, body: '{"message":"test failed"}' },
      { kind: 'fatal', what: 'HTTP 422: test failed' },
    ],
  ])('%s', (_name, error, expected) => {
    expect(classifyFailure(Object.assign(new Error('x'), error), 0)).toMatchObject(expected);
  });

  it('a reset connection under fetch failed is transient', () => {
    const error = new TypeError('fetch failed', {
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    });
    expect(classifyFailure(error, 0)).toMatchObject({ kind: 'transient', what: 'connection failed (UND_ERR_SOCKET)' });
  });

  it('Retry-After may be an HTTP date', () => {
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:05 GMT', 1000)).toBe(4000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });
});
