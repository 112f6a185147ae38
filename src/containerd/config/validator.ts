import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CommandRunner } from '../../host/command-runner.js';
import type { ScratchSpace } from '../../host/scratch-space.js';
import type { RuntimeFlavour } from '../../settings/settings.js';
import { renderString } from './handler-tables.js';
import { hostLoaderCommand } from './host-loader.js';
import { resolveImport } from './imports.js';
import { decodeString, scanArray, scanToml } from './toml-lexer.js';

/** What containerd said about a set of config files. */
export type ValidationResult =
  | { readonly ok: true; readonly dump: string }
  | { readonly ok: false; readonly message: string };

/**
 * The port that asks the host's containerd whether it accepts a config: the only oracle that knows every
 * rule (floats written as integers, missing imports, plugin-specific checks) of the exact release running.
 */
export interface ConfigValidator {
  /** `files`: host path → bytes (undefined = absent) of the main config and everything it imports. */
  validate(mainConfigPath: string, files: ReadonlyMap<string, Buffer | undefined>): Promise<ValidationResult>;
}

/** How the real validator finds and runs containerd. */
export interface ContainerdValidatorOptions {
  readonly runner: CommandRunner;
  /** Where the scratch copies go: a directory the installer owns (never a world-writable /tmp). */
  readonly scratch: ScratchSpace;
  /** Called once the scratch copies are written, before containerd runs (the crash tests kill a run here). */
  readonly onScratchWritten?: () => void;
  /** The real directory of the host root, where the host's containerd binary is looked for. */
  readonly hostRoot?: string;
  /** A containerd binary to run instead of the host's (a distribution's bundled one, or tests' binaries). */
  readonly binary?: string;
  /** The runtime flavour, to prefer the containerd a distribution bundles. */
  readonly flavour?: RuntimeFlavour;
  readonly timeoutMs?: number;
  /**
   * Real directory of a host root that is not `/` (the DaemonSet's /host): a dynamic binary inside it
   * runs through that root's own dynamic loader and libraries (host-loader.ts), so the host's containerd
   * never loads this image's glibc, and no chroot is needed (the pod has no CAP_SYS_CHROOT).
   */
  readonly loaderRoot?: string;
}

/** How to run a containerd binary: directly, or through the host root's loader when it lives there. */
export function containerdCommand(
  binary: string,
  loaderRoot: string | undefined,
  args: readonly string[],
): { file: string; args: string[] } {
  return hostLoaderCommand(binary, loaderRoot, args);
}

const HOST_BINARIES = [
  '/usr/local/bin/containerd',
  '/usr/bin/containerd',
  '/usr/local/sbin/containerd',
  '/usr/sbin/containerd',
];

/** Where distributions keep the containerd they bundle (it, not a stray host binary, reads the config). */
export const BUNDLED_BINARIES: Partial<Record<RuntimeFlavour, readonly string[]>> = {
  k3s: ['/var/lib/rancher/k3s/data/current/bin/containerd'],
  'k3s-agent': ['/var/lib/rancher/k3s/data/current/bin/containerd'],
  'rke2-server': ['/var/lib/rancher/rke2/bin/containerd'],
  'rke2-agent': ['/var/lib/rancher/rke2/bin/containerd'],
  'k0s-worker': ['/var/lib/k0s/bin/containerd'],
  'k0s-controller': ['/var/lib/k0s/bin/containerd'],
  microk8s: ['/snap/microk8s/current/bin/containerd'],
};

/** The binary a validator runs: the explicit one, else the flavour's bundled one, else the host's, else PATH's. */
export function containerdBinary(options: Pick<ContainerdValidatorOptions, 'hostRoot' | 'binary' | 'flavour'>): string {
  if (options.binary !== undefined) return options.binary;
  const root = options.hostRoot ?? '/';
  const candidates = [
    ...(options.flavour === undefined ? [] : (BUNDLED_BINARIES[options.flavour] ?? [])),
    ...HOST_BINARIES,
  ];
  return candidates.map((file) => path.join(root, file)).find((file) => existsSync(file)) ?? 'containerd';
}

/**
 * Runs `containerd --config <main> config dump` on a scratch copy of the candidate files. Absolute
 * `imports` entries in the copies are rewritten to point into the scratch tree, so containerd reads the
 * candidates and never the host's live files; nothing on the host is read or written.
 */
export function containerdValidator(options: ContainerdValidatorOptions): ConfigValidator {
  const binary = containerdBinary(options);
  return {
    async validate(mainConfigPath, files) {
      const scratchDir = await options.scratch.open();
      const scratch = scratchDir.path;
      try {
        for (const [hostPath, bytes] of files) {
          if (bytes === undefined) continue;
          const real = path.join(scratch, hostPath);
          await mkdir(path.dirname(real), { recursive: true });
          await writeFile(real, rebaseImports(hostPath, bytes, scratch));
        }
        if (!files.has(mainConfigPath) || files.get(mainConfigPath) === undefined) {
          await mkdir(path.dirname(path.join(scratch, mainConfigPath)), { recursive: true });
          await writeFile(path.join(scratch, mainConfigPath), '');
        }
        options.onScratchWritten?.();
        const command = containerdCommand(binary, options.loaderRoot, [
          '--config',
          path.join(scratch, mainConfigPath),
          'config',
          'dump',
        ]);
        const result = await options.runner.run(command.file, command.args, { timeoutMs: options.timeoutMs ?? 30_000 });
        if (result.exitCode === 0) return { ok: true, dump: result.stdout };
        const said = containerdComplaint(result.stderr.trim() || result.stdout.trim());
        return {
          ok: false,
          message: said.split(scratch).join('') || `${binary} exited with status ${result.exitCode}`,
        };
      } finally {
        await scratchDir.release();
      }
    },
  };
}

/** A throwaway copy of a config whose root `imports` resolve under `scratch` (other bytes unchanged). */
export function rebaseImports(hostPath: string, bytes: Buffer, scratch: string): Buffer {
  let text = bytes.toString('utf8');
  let kv: ReturnType<typeof scanToml>['keyValues'][number] | undefined;
  try {
    kv = scanToml(text).keyValues.find(
      (item) => item.table.length === 0 && item.key.length === 1 && item.key[0] === 'imports',
    );
  } catch {
    return bytes;
  }
  if (kv === undefined || text[kv.valueStart] !== '[') return bytes;
  const elements = scanArray(text, kv.valueStart, kv.valueEnd);
  for (const element of [...elements].reverse()) {
    const token = text.slice(element.start, element.end);
    if (!/^["']/.test(token)) continue;
    const entry = decodeString(token);
    text =
      text.slice(0, element.start) +
      renderString(path.join(scratch, resolveImport(hostPath, entry))) +
      text.slice(element.end);
  }
  return Buffer.from(text);
}

/**
 * What containerd complained about, readable: logfmt lines (`time=… level=error msg="…" error="…"`) become
 * their message and error, info/warning lines are dropped, repeats removed, the last three kept.
 */
export function containerdComplaint(output: string): string {
  const lines: string[] = [];
  for (const line of output.split('\n')) {
    const level = /\blevel=(\w+)/.exec(line)?.[1];
    if (level !== undefined && !['error', 'fatal', 'panic'].includes(level)) continue;
    const field = (name: string): string | undefined => {
      const match = new RegExp(`\\b${name}="((?:[^"\\\\]|\\\\.)*)"`).exec(line);
      return match?.[1]?.replace(/\\(.)/g, '$1');
    };
    const text = level === undefined ? line.trim() : [field('msg'), field('error')].filter(Boolean).join(': ');
    if (text.length > 0 && !lines.includes(text)) lines.push(text);
  }
  return lines.slice(-3).join('\n');
}
