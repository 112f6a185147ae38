import { describe, expect, it } from 'vitest';
import {
  decideClaim,
  decideDemote,
  decideReady,
  decideRelease,
  KATA_RUNTIME_LABEL as SHARED,
  markLabel,
  sharedLabelAfter,
} from '../../src/kube/labels.js';
import { decideTaints } from '../../src/kube/taints.js';

const OURS = markLabel(undefined);
const DEV = markLabel('dev');
const CLAIM = 'claim the node before installing';
const CLAIMED = 'node already claimed or labelled';
const LAST = 'no other install holds the node';
const SERVED = 'another install still serves Kata on this node';
const UNFINISHED = 'other installs hold the node but none has finished';
const DEMOTE = 'take the node out of service before uninstalling';

describe('node label decisions', () => {
  it('names the mark after the suffix, or "default" without one, beside upstream\'s shared label', () => {
    expect(OURS).toBe('kata-deploy.katacontainers.io/default');
    expect(DEV).toBe('kata-deploy.katacontainers.io/dev');
    expect(SHARED).toBe('katacontainers.io/kata-runtime');
  });

  it.each([
    [
      'a fresh node is claimed with both labels false',
      {},
      { kind: 'write', changes: { [SHARED]: 'false', [OURS]: 'false' }, reason: CLAIM },
    ],
    [
      'a node another install finished keeps its true and gets our mark false',
      { [SHARED]: 'true', [DEV]: 'true' },
      { kind: 'write', changes: { [OURS]: 'false' }, reason: CLAIM },
    ],
    [
      'a node we already labelled true is not downgraded by a restarted pod',
      { [SHARED]: 'true', [OURS]: 'true' },
      { kind: 'unchanged', reason: CLAIMED },
    ],
    [
      'a node already claimed is left alone',
      { [SHARED]: 'false', [OURS]: 'false' },
      { kind: 'unchanged', reason: CLAIMED },
    ],
  ])('claim: %s', (_name, labels, expected) => {
    expect(decideClaim(labels, OURS)).toEqual(expected);
  });

  it.each([
    [
      'a claimed node becomes true on both labels',
      { [SHARED]: 'false', [OURS]: 'false' },
      { kind: 'write', changes: { [SHARED]: 'true', [OURS]: 'true' }, reason: 'the handlers are live' },
    ],
    [
      'a node another install made ready gets only our mark',
      { [SHARED]: 'true', [DEV]: 'true', [OURS]: 'false' },
      { kind: 'write', changes: { [OURS]: 'true' }, reason: 'the handlers are live' },
    ],
    [
      'a node already ready needs no write',
      { [SHARED]: 'true', [OURS]: 'true' },
      { kind: 'unchanged', reason: 'node already labelled ready' },
    ],
  ])('ready: %s', (_name, labels, expected) => {
    expect(decideReady(labels, OURS)).toEqual(expected);
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
      { kind: 'write', changes: { [SHARED]: null, [OURS]: null }, reason: LAST, verdict: 'remove' },
    ],
    [
      'an install beside a finished one removes only its mark',
      { [SHARED]: 'true', [OURS]: 'true', [DEV]: 'true' },
      { kind: 'write', changes: { [OURS]: null }, reason: SERVED, verdict: 'keep' },
    ],
    [
      'an install beside an unfinished one demotes the shared label',
      { [SHARED]: 'true', [OURS]: 'true', [DEV]: 'false' },
      { kind: 'write', changes: { [OURS]: null, [SHARED]: 'false' }, reason: UNFINISHED, verdict: 'demote' },
    ],
    [
      'an already demoted shared label is not rewritten',
      { [SHARED]: 'false', [OURS]: 'false', [DEV]: 'false' },
      { kind: 'write', changes: { [OURS]: null }, reason: UNFINISHED, verdict: 'demote' },
    ],
    [
      'an unfinished other install without the shared label does not create it',
      { [OURS]: 'true', [DEV]: 'false' },
      { kind: 'write', changes: { [OURS]: null }, reason: UNFINISHED, verdict: 'demote' },
    ],
    [
      'a shared label left without any mark is removed',
      { [SHARED]: 'false' },
      { kind: 'write', changes: { [SHARED]: null }, reason: LAST, verdict: 'remove' },
    ],
    ['a node never labelled needs no write', {}, { kind: 'unchanged', reason: LAST, verdict: 'remove' }],
  ])('release: %s', (_name, labels, expected) => {
    expect(decideRelease(labels, OURS)).toEqual(expected);
  });

  it.each([
    [
      'the only install takes both labels out of service',
      { [SHARED]: 'true', [OURS]: 'true' },
      { kind: 'write', changes: { [SHARED]: 'false', [OURS]: 'false' }, reason: DEMOTE },
    ],
    [
      'another finished install keeps the shared label true',
      { [SHARED]: 'true', [OURS]: 'true', [DEV]: 'true' },
      { kind: 'write', changes: { [OURS]: 'false' }, reason: DEMOTE },
    ],
    [
      'another unfinished install does not keep the shared label true',
      { [SHARED]: 'true', [OURS]: 'true', [DEV]: 'false' },
      { kind: 'write', changes: { [SHARED]: 'false', [OURS]: 'false' }, reason: DEMOTE },
    ],
    [
      'a node whose labels are already false needs no write',
      { [SHARED]: 'false', [OURS]: 'false' },
      { kind: 'unchanged', reason: 'nothing to take out of service' },
    ],
    [
      'an absent mark is not created, a true shared label still goes down',
      { [SHARED]: 'true' },
      { kind: 'write', changes: { [SHARED]: 'false' }, reason: DEMOTE },
    ],
    [
      'an absent shared label is not created',
      { [OURS]: 'true' },
      { kind: 'write', changes: { [OURS]: 'false' }, reason: DEMOTE },
    ],
    ['a node never labelled needs no write', {}, { kind: 'unchanged', reason: 'nothing to take out of service' }],
  ])('demote: %s', (_name, labels, expected) => {
    expect(decideDemote(labels, OURS)).toEqual(expected);
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
