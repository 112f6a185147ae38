import { describe, expect, it } from 'vitest';
import { KataDeployError } from '../../src/core/errors.js';
import {
  parseBoolean,
  parseChoice,
  parsePerShim,
  parseSnapshotterMapping,
  parseWords,
} from '../../src/settings/parse-values.js';

const SHIMS = ['qemu', 'clh', 'qemu-snp'];

/** The refusal a parser throws: exit 2 (usage), message and hint exactly as the operator reads them. */
function refusal(run: () => unknown): { code: string; message: string; hint: string | undefined } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(KataDeployError);
    const { code, message, hint } = error as KataDeployError;
    return { code, message, hint };
  }
  throw new Error('expected a refusal');
}

describe('parseBoolean', () => {
  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['on', true],
    [' TRUE ', true],
    ['Yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['off', false],
    ['', false],
    ['  ', false],
    [' False ', false],
    ['OFF', false],
  ])('reads %j as %s', (raw, expected) => {
    expect(parseBoolean('DEBUG', raw)).toBe(expected);
  });

  it('passes a boolean flag value through', () => {
    expect(parseBoolean('--debug', true)).toBe(true);
    expect(parseBoolean('--debug', false)).toBe(false);
  });

  it.each(['maybe', 'tru', '2', 'y'])('refuses %j, naming the variable', (raw) => {
    expect(refusal(() => parseBoolean('DEBUG', raw))).toEqual({
      code: 'usage',
      message: `DEBUG: "${raw}" is not a boolean`,
      hint: 'accepted: true or false',
    });
  });
});

describe('parseWords', () => {
  it.each([
    ['qemu clh', ['qemu', 'clh']],
    ['  qemu \t\n clh  ', ['qemu', 'clh']],
    ['qemu', ['qemu']],
    ['', []],
    ['   ', []],
  ])('splits %j into %j', (raw, expected) => {
    expect(parseWords(raw)).toEqual(expected);
  });
});

describe('parsePerShim', () => {
  it.each([
    [undefined, undefined, []],
    ['', undefined, []],
    ['   ', undefined, []],
    ['http://proxy:3128', 'http://proxy:3128', []],
    ['  http://proxy:3128  ', 'http://proxy:3128', []],
    ['http://a=b', 'http://a=b', []],
    ['qemu=http://a', undefined, [['qemu', 'http://a']]],
    [
      ' qemu=http://a ; clh=http://b=c ;',
      undefined,
      [
        ['qemu', 'http://a'],
        ['clh', 'http://b=c'],
      ],
    ],
    ['qemu=', undefined, [['qemu', '']]],
  ])('reads %j', (raw, global, perShim) => {
    expect(parsePerShim('AGENT_HTTPS_PROXY', raw, SHIMS)).toEqual({
      global,
      perShim: new Map(perShim as [string, string][]),
    });
  });

  it('refuses a shim that is not selected, naming the entry and the selected shims', () => {
    expect(refusal(() => parsePerShim('AGENT_HTTPS_PROXY', 'qemu=http://a;fc=http://b', SHIMS))).toEqual({
      code: 'usage',
      message: 'AGENT_HTTPS_PROXY: entry "fc=http://b" names shim "fc", which is not selected',
      hint: 'accepted: shim=value;… with shims from: qemu clh qemu-snp',
    });
  });

  it.each(['qemu=a;=b', 'qemu=a;clh'])('refuses %j, whose second entry is not shim=value', (raw) => {
    const entry = raw.split(';')[1];
    expect(refusal(() => parsePerShim('AGENT_NO_PROXY', raw, SHIMS))).toEqual({
      code: 'usage',
      message: `AGENT_NO_PROXY: malformed entry "${entry}"`,
      hint: 'accepted: shim=value;… or one global value',
    });
  });

  it('refuses a shim given twice', () => {
    expect(refusal(() => parsePerShim('AGENT_NO_PROXY', 'qemu=a;qemu=b', SHIMS))).toEqual({
      code: 'usage',
      message: 'AGENT_NO_PROXY: shim "qemu" is given twice',
      hint: 'accepted: each shim once',
    });
  });
});

describe('parseSnapshotterMapping', () => {
  const accepted = 'accepted: shim:snapshotter[,shim:snapshotter…] with shims from: qemu clh qemu-snp';

  it.each([
    [undefined, []],
    ['', []],
    ['  ', []],
    ['qemu:nydus', [['qemu', 'nydus']]],
    [
      ' qemu:nydus , clh:erofs.v1 ,',
      [
        ['qemu', 'nydus'],
        ['clh', 'erofs.v1'],
      ],
    ],
  ])('reads %j', (raw, expected) => {
    expect(parseSnapshotterMapping('SNAPSHOTTER_HANDLER_MAPPING', raw, SHIMS)).toEqual(
      new Map(expected as [string, string][]),
    );
  });

  it.each(['qemu', 'qemu:', ':nydus', 'x qemu:nydus', 'qemu:nydus x', 'qemu:ny/dus'])(
    'refuses the malformed entry %j',
    (entry) => {
      expect(refusal(() => parseSnapshotterMapping('SNAPSHOTTER_HANDLER_MAPPING', entry, SHIMS))).toEqual({
        code: 'usage',
        message: `SNAPSHOTTER_HANDLER_MAPPING: malformed entry "${entry}"`,
        hint: accepted,
      });
    },
  );

  it('refuses a shim that is not selected and a shim mapped twice', () => {
    expect(refusal(() => parseSnapshotterMapping('S', 'fc:nydus', SHIMS))).toEqual({
      code: 'usage',
      message: 'S: entry "fc:nydus" names shim "fc", which is not selected',
      hint: accepted,
    });
    expect(refusal(() => parseSnapshotterMapping('S', 'qemu:nydus,qemu:erofs', SHIMS))).toEqual({
      code: 'usage',
      message: 'S: shim "qemu" is mapped twice',
      hint: accepted,
    });
  });
});

describe('parseChoice', () => {
  const choices = ['auto', 'systemd', 'none'] as const;

  it('accepts a choice with surrounding blanks', () => {
    expect(parseChoice('KATA_RESTART', ' none ', choices)).toBe('none');
  });

  it('refuses another word, listing the choices', () => {
    expect(refusal(() => parseChoice('KATA_RESTART', 'always', choices))).toEqual({
      code: 'usage',
      message: 'KATA_RESTART: "always" is not valid',
      hint: 'accepted: auto | systemd | none',
    });
  });
});
