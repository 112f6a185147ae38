// A seccomp profile (runtime-default.ts) as a classic BPF program for SECCOMP_MODE_FILTER, assembled here:
// the architecture check, then one small block per syscall (jumps in classic BPF reach 255 instructions, so
// each block ends in its own return), then the default errno. Syscall numbers come from the kernel's own
// table in the installed UAPI headers (Debian's linux-libc-dev), so the list above stays names only.
import { readFileSync } from 'node:fs';
import type { ArgRule, SeccompProfile } from './runtime-default.ts';

/** One classic BPF instruction (struct sock_filter). */
export interface BpfInstruction {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

const LD_W_ABS = 0x20;
const JEQ = 0x15;
const JGT = 0x25;
const JGE = 0x35;
const AND = 0x54;
const RET = 0x06;
const RET_ALLOW = 0x7fff0000;
const retErrno = (errno: number) => 0x00050000 | errno;

// struct seccomp_data: nr, arch, instruction pointer, then six 64-bit arguments (little-endian here).
const NR = 0;
const ARCH = 4;
const argLow = (index: number) => 16 + 8 * index;
const argHigh = (index: number) => argLow(index) + 4;

interface ArchFacts {
  readonly auditArch: number;
  readonly header: string;
  /** Numbers at or above this belong to another ABI on the same audit arch (x32 on x86_64). */
  readonly abiBit?: number;
}

const ARCHES: Readonly<Record<string, ArchFacts>> = {
  x64: { auditArch: 0xc000003e, header: '/usr/include/x86_64-linux-gnu/asm/unistd_64.h', abiBit: 0x40000000 },
  arm64: { auditArch: 0xc00000b7, header: '/usr/include/asm-generic/unistd.h' },
};

/** The architecture's facts, or why the stand-in cannot build a filter here. */
export function seccompArch(arch: string = process.arch): ArchFacts | string {
  const facts = ARCHES[arch];
  if (facts === undefined) return `no seccomp syscall table for ${arch} (x64 and arm64 are modelled)`;
  try {
    readFileSync(facts.header);
  } catch {
    return `${facts.header} is missing: install Debian's linux-libc-dev (the kernel's syscall table)`;
  }
  return facts;
}

/** name → number from a UAPI unistd header (`#define __NR_read 0`, aliases like `__NR3264_fcntl` resolved). */
export function syscallTable(headerText: string): ReadonlyMap<string, number> {
  const defines = new Map<string, string>();
  for (const match of headerText.matchAll(/^#define\s+(__NR(?:3264)?_\w+)\s+(\S+)/gm))
    defines.set(match[1]!, match[2]!);
  const table = new Map<string, number>();
  const resolve = (value: string, depth = 0): number | undefined =>
    /^\d+$/.test(value)
      ? Number(value)
      : depth < 4 && defines.has(value)
        ? resolve(defines.get(value)!, depth + 1)
        : undefined;
  for (const [macro, value] of defines) {
    if (!macro.startsWith('__NR_') || macro === '__NR_syscalls') continue;
    const number = resolve(value);
    if (number !== undefined) table.set(macro.slice('__NR_'.length), number);
  }
  return table;
}

const ins = (code: number, k: number, jt = 0, jf = 0): BpfInstruction => ({ code, jt, jf, k });

/** The instructions after `jeq nr` for one argument rule: allow when the argument passes, else the default. */
function argBlock(rule: ArgRule, defaultErrno: number): BpfInstruction[] {
  const deny = ins(RET, retErrno(defaultErrno));
  const allow = ins(RET, RET_ALLOW);
  const { test } = rule;
  if (test.kind === 'masked-zero')
    return [ins(LD_W_ABS, argLow(rule.index)), ins(AND, test.mask), ins(JEQ, 0, 0, 1), allow, deny];
  if (test.kind === 'one-of') {
    const checks = test.values.map((value, i) => ins(JEQ, value, test.values.length - i, 0));
    return [
      ins(LD_W_ABS, argHigh(rule.index)),
      ins(JEQ, 0, 0, checks.length + 1),
      ins(LD_W_ABS, argLow(rule.index)),
    ].concat(checks, [deny, allow]);
  }
  // not-in [from, to] (except one value): any high bit set is above `to`; else compare the low word.
  const except = test.except === undefined ? [] : [ins(JEQ, test.except, 2, 0)];
  return [
    ins(LD_W_ABS, argHigh(rule.index)),
    ins(JEQ, 0, 0, 4 + except.length),
    ins(LD_W_ABS, argLow(rule.index)),
    ins(JGE, test.from, 0, 2 + except.length),
    ...except,
    ins(JGT, test.to, 1, 0),
    deny,
    allow,
  ];
}

/**
 * The filter for `profile` on `arch`: a foreign architecture or ABI gets the default errno, then each known
 * syscall its rule. Returns the program and the profile's names this kernel table does not have.
 */
export function assembleSeccomp(
  profile: SeccompProfile,
  arch: ArchFacts,
  table: ReadonlyMap<string, number> = syscallTable(readFileSync(arch.header, 'utf8')),
): { readonly program: readonly BpfInstruction[]; readonly unknown: readonly string[] } {
  const deny = ins(RET, retErrno(profile.defaultErrno));
  const program: BpfInstruction[] = [ins(LD_W_ABS, ARCH), ins(JEQ, arch.auditArch, 1, 0), deny, ins(LD_W_ABS, NR)];
  if (arch.abiBit !== undefined) program.push(ins(JGE, arch.abiBit, 0, 1), deny);
  const unknown: string[] = [];
  const block = (name: string, body: BpfInstruction[]) => {
    const number = table.get(name);
    if (number === undefined) return unknown.push(name);
    program.push(ins(JEQ, number, 0, body.length), ...body);
  };
  for (const name of profile.allow) block(name, [ins(RET, RET_ALLOW)]);
  for (const { name, errno } of profile.errno) block(name, [ins(RET, retErrno(errno))]);
  for (const rule of profile.argRules) block(rule.name, argBlock(rule, profile.defaultErrno));
  program.push(deny);
  return { program, unknown };
}

/** The program as the bytes of a struct sock_filter array (what prctl(PR_SET_SECCOMP) points at). */
export function programBytes(program: readonly BpfInstruction[]): Buffer {
  const bytes = Buffer.alloc(program.length * 8);
  program.forEach(({ code, jt, jf, k }, i) => {
    bytes.writeUInt16LE(code, i * 8);
    bytes.writeUInt8(jt, i * 8 + 2);
    bytes.writeUInt8(jf, i * 8 + 3);
    bytes.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return bytes;
}
