import { describe, expect, it } from 'vitest';
import {
  decideClaim,
  decideReady,
  decideRelease,
  KATA_RUNTIME_LABEL as SHARED,
  markLabel,
  sharedLabelAfter,
} from '../../src/kube/labels.js';
import { decideTaints } from '../../src/kube/taints.js';

const OURS = markLabel(undefined);
const DEV = markLabel('dev');

describe('node label decisions', () => {
  it('names the mark after the suffix, or "default" without one', () => {
    expect(OURS).toBe('kata-deploy.katacontainers.io/default');
    expect(DEV).toBe('kata-deploy.katacontainers.io/dev');
  });

  it.each([
    [
      'a fresh node is claimed with both labels false',
      {},
      { kind: 'write', changes: { [SHARED]: 'false', [OURS]: 'false' } },
    ],
    [
      'a node another install finished keeps its true and gets our mark false',
      { [SHARED]: 'true', [DEV]: 'true' },
      { kind: 'write', changes: { [OURS]: 'false' } },
    ],
    [
      'a node we already labelled true is not downgraded by a restarted pod',
      { [SHARED]: 'true', [OURS]: 'true' },
      { kind: 'unchanged' },
    ],
    ['a node already claimed is left alone', { [SHARED]: 'false', [OURS]: 'false' }, { kind: 'unchanged' }],
  ])('claim: %s', (_name, labels, expected) => {
    expect(decideClaim(labels, OURS)).toMatchObject(expected);
  });

  it.each([
    [
      'a claimed node becomes true on both labels',
      { [SHARED]: 'false', [OURS]: 'false' },
      { kind: 'write', changes: { [SHARED]: 'true', [OURS]: 'true' } },
    ],
    ['a node already ready needs no write', { [SHARED]: 'true', [OURS]: 'true' }, { kind: 'unchanged' }],
  ])('ready: %s', (_name, labels, expected) => {
    expect(decideReady(labels, OURS)).toMatchObject(expected);
  });

  it.each([
    ['no other mark means the shared label goes', { [SHARED]: 'true', [OURS]: 'true' }, 'remove'],
    ['another finished install keeps the shared label', { [SHARED]: 'true', [OURS]: 'true', [DEV]: 'true' }, 'keep'],
    [
      'only unfinished other installs demote the shared label',
      { [SHARED]: 'true', [OURS]: 'true', [DEV]: 'false' },
      'demote',
    ],
    [
      'labels outside our prefix do not count as installs',
      { [SHARED]: 'true', 'katacontainers.io/other': 'true' },
      'remove',
    ],
  ])('shared label verdict: %s', (_name, labels, verdict) => {
    expect(sharedLabelAfter(labels, OURS)).toBe(verdict);
  });

  it.each([
    [
      'the last install removes both labels',
      { [SHARED]: 'true', [OURS]: 'true' },
      { kind: 'write', changes: { [SHARED]: null, [OURS]: null } },
    ],
    [
      'an install beside a finished one removes only its mark',
      { [SHARED]: 'true', [OURS]: 'true', [DEV]: 'true' },
      { kind: 'write', changes: { [OURS]: null } },
    ],
    [
      'an install beside an unfinished one demotes the shared label',
      { [SHARED]: 'true', [OURS]: 'true', [DEV]: 'false' },
      { kind: 'write', changes: { [OURS]: null, [SHARED]: 'false' } },
    ],
    [
      'an already demoted shared label is not rewritten',
      { [SHARED]: 'false', [OURS]: 'false', [DEV]: 'false' },
      { kind: 'write', changes: { [OURS]: null } },
    ],
    ['a node never labelled needs no write', {}, { kind: 'unchanged' }],
  ])('release: %s', (_name, labels, expected) => {
    const decision = decideRelease(labels, OURS);
    expect(decision).toMatchObject(expected);
    if (decision.kind === 'write') expect(decision.changes).toEqual(expected.changes);
  });
});

describe('start-up taint decisions', () => {
  const taints = [
    { key: 'kata/not-ready', effect: 'NoSchedule' },
    { key: 'kata/not-ready', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
  ];

  it('a bare key removes that key with any effect and keeps the rest', () => {
    expect(decideTaints(taints, ['kata/not-ready'])).toEqual({
      kind: 'write',
      retained: [taints[2]],
      removed: ['kata/not-ready:NoSchedule', 'kata/not-ready:NoExecute'],
    });
  });

  it('key:effect removes only the taint matching both', () => {
    expect(decideTaints(taints, ['kata/not-ready:NoExecute'])).toMatchObject({
      kind: 'write',
      retained: [taints[0], taints[2]],
    });
  });

  it('no matching taint leaves the node unchanged', () => {
    expect(decideTaints(taints, ['other'])).toEqual({ kind: 'unchanged' });
  });
});
