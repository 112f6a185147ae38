import type { V1DaemonSet, V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { daemonSetVerdict } from '../../src/kube/daemonset-selects.js';

const node: V1Node = { metadata: { name: 'worker-1', labels: { 'kata-capable': 'yes', zone: 'a', cores: '16' } } };

function ds(spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): V1DaemonSet {
  return {
    metadata: { name: 'kata-deploy', ...metadata },
    spec: { selector: {}, template: { spec: { containers: [], ...spec } } },
  } as V1DaemonSet;
}

const affinity = (...terms: unknown[]) => ({
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } },
});

describe('does our DaemonSet still cover this node', () => {
  it.each([
    ['a DaemonSet without selectors covers every node', ds(), 'selects'],
    ['a missing DaemonSet is gone', undefined, 'gone'],
    ['a DaemonSet with a deletionTimestamp is being deleted', ds({}, { deletionTimestamp: new Date() }), 'deleting'],
    ['a matching nodeSelector selects', ds({ nodeSelector: { 'kata-capable': 'yes' } }), 'selects'],
    [
      'a nodeSelector the node no longer matches does not',
      ds({ nodeSelector: { 'kata-capable': 'no' } }),
      'not-selected',
    ],
    [
      'an In expression on a label selects',
      ds(affinity({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] })),
      'selects',
    ],
    [
      'a DoesNotExist on a present label excludes',
      ds(affinity({ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] })),
      'not-selected',
    ],
    [
      'terms are ORed: one matching term is enough',
      ds(
        affinity(
          { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z'] }] },
          { matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['8'] }] },
        ),
      ),
      'selects',
    ],
    [
      'matchFields on metadata.name exclude a named node',
      ds(affinity({ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['worker-1'] }] })),
      'not-selected',
    ],
    ['an empty term matches nothing', ds(affinity({})), 'not-selected'],
  ])('%s', (_name, daemonSet, kind) => {
    expect(daemonSetVerdict(daemonSet, node).kind).toBe(kind);
  });
});
