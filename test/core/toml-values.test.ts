import { describe, expect, it } from 'vitest';
import { parseTomlValues } from '../../src/core/toml-values.js';

describe('parseTomlValues', () => {
  it('parses a text once and hands every caller the same deep-frozen document', () => {
    const text = '[hypervisor.qemu]\nenable_annotations = ["kernel_params"]\n';
    const first = parseTomlValues(text);
    expect(parseTomlValues(`${text}`)).toBe(first);
    const table = (first.hypervisor as Record<string, { enable_annotations: string[] }>).qemu!;
    expect(table.enable_annotations).toEqual(['kernel_params']);
    expect(() => table.enable_annotations.push('x')).toThrow(TypeError);
  });

  it('throws on invalid TOML every time (a failure is not remembered as a document)', () => {
    expect(() => parseTomlValues('[broken')).toThrow();
    expect(() => parseTomlValues('[broken')).toThrow();
  });
});
