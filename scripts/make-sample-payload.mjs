// Makes a kata-static-shaped payload (shared/corpus/kata-payload-layout.md): shims, hypervisors,
// virtiofsd, kernels and images with their .container/.img symlinks, a pristine configuration for
// every shim in src/core/shims.ts, qemu firmware, and filler files up to the requested count.
// Binaries start with a real ELF header for the chosen arch so arch checks have something to read.
//
//   node scripts/make-sample-payload.mjs --out /tmp/p.tar.zst [--size 600M] [--files 2000]
//        [--arch x86_64] [--compression zst|xz|gz|tar] [--recording-shim /run/marker.log] [--devkit yes]
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SHIM_CATALOGUE, shimConfigRelPath } from '../src/core/shims.ts';
import { renderSampleConfig } from './sample-kata-config.mjs';

const ELF_MACHINE = { x86_64: 0x3e, aarch64: 0xb7, ppc64le: 0x15, s390x: 0x16 };
const KVER = '6.18.35-200';

/** Weighted big files (weights ~ MB in a real 4.0 release); `elf` marks executables. */
function bigFiles(arch) {
  const qemu = {
    x86_64: 'qemu-system-x86_64',
    aarch64: 'qemu-system-aarch64',
    ppc64le: 'qemu-system-ppc64',
    s390x: 'qemu-system-s390x',
  }[arch];
  const files = [
    ['bin/containerd-shim-kata-v2', 49, true],
    ['bin/kata-runtime', 51, true],
    ['bin/kata-monitor', 27, true],
    [`bin/${qemu}`, 18, true],
    ['runtime-rs/bin/containerd-shim-kata-v2', 44, true],
    ['libexec/virtiofsd', 6, true],
    ['libexec/nydusd', 15, true],
    [`share/kata-containers/vmlinux-${KVER}`, 50],
    [`share/kata-containers/vmlinuz-${KVER}`, 8],
    [`share/kata-containers/System.map-${KVER}`, 4],
    ['share/kata-containers/kata-ubuntu-noble.image', 256],
    ['share/kata-containers/kata-ubuntu-noble-confidential.image', 300],
    ['share/kata-containers/kata-ubuntu-noble.initrd', 50],
    ['share/kata-containers/kata-ubuntu-noble-confidential.initrd', 60],
    ['share/kata-containers/kata-ubuntu-noble-nvidia.image', 100],
  ];
  if (arch === 'x86_64' || arch === 'aarch64') {
    files.push(
      ['bin/cloud-hypervisor', 5, true],
      ['bin/firecracker', 3.3, true],
      ['bin/jailer', 2.6, true],
      [`share/kata-containers/vmlinux-${KVER}-nvidia-gpu`, 50],
      [`share/kata-containers/vmlinuz-${KVER}-nvidia-gpu`, 8],
      [`share/kata-containers/vmlinux-${KVER}-dragonball-experimental`, 50],
      ['share/kata-containers/kata-ubuntu-noble-nvidia-gpu-595.58.03.image', 300],
      ['share/kata-containers/kata-ubuntu-noble-nvidia-gpu-confidential-595.58.03.image', 300],
    );
  }
  if (arch === 'x86_64') {
    files.push(
      [`bin/${qemu}-snp-experimental`, 20, true],
      [`bin/${qemu}-tdx-experimental`, 20, true],
      ['bin/openvmm', 4, true],
      ['share/ovmf/OVMF.fd', 4],
      ['share/ovmf/AMDSEV.fd', 4],
      ['share/ovmf/OVMF.inteltdx.fd', 4],
    );
  }
  for (const fw of [
    'bios-256k.bin',
    'bios.bin',
    'efi-virtio.rom',
    'linuxboot.bin',
    'linuxboot_dma.bin',
    'kvmvapic.bin',
    'pvh.bin',
    'edk2-x86_64-code.fd',
    'edk2-aarch64-code.fd',
  ]) {
    files.push([`share/kata-qemu/qemu/${fw}`, 1]);
  }
  return files;
}

const LINKS = [
  ['share/kata-containers/vmlinux.container', `vmlinux-${KVER}`],
  ['share/kata-containers/vmlinuz.container', `vmlinuz-${KVER}`],
  ['share/kata-containers/kata-containers.img', 'kata-ubuntu-noble.image'],
  ['share/kata-containers/kata-containers-confidential.img', 'kata-ubuntu-noble-confidential.image'],
  ['share/kata-containers/kata-containers-initrd.img', 'kata-ubuntu-noble.initrd'],
  ['share/kata-containers/kata-containers-initrd-confidential.img', 'kata-ubuntu-noble-confidential.initrd'],
  ['share/kata-containers/kata-containers-nvidia.img', 'kata-ubuntu-noble-nvidia.image'],
  ['share/defaults/kata-containers/configuration.toml', 'configuration-qemu.toml'],
  ['share/defaults/kata-containers/runtime-rs/configuration.toml', 'configuration-qemu-runtime-rs.toml'],
];
const LINKS_X86_ARM = [
  ['share/kata-containers/vmlinux-nvidia-gpu.container', `vmlinux-${KVER}-nvidia-gpu`],
  ['share/kata-containers/vmlinuz-nvidia-gpu.container', `vmlinuz-${KVER}-nvidia-gpu`],
  ['share/kata-containers/vmlinux-dragonball-experimental.container', `vmlinux-${KVER}-dragonball-experimental`],
  ['share/kata-containers/kata-containers-nvidia-gpu.img', 'kata-ubuntu-noble-nvidia-gpu-595.58.03.image'],
  [
    'share/kata-containers/kata-containers-nvidia-gpu-confidential.img',
    'kata-ubuntu-noble-nvidia-gpu-confidential-595.58.03.image',
  ],
];

/** Eight distinct 1 MiB blocks, half random and half repeated text: compresses about 2:1 like binaries do. */
function makeBlocks() {
  const text = Buffer.from('kata-containers static payload filler; the quick brown fox jumps over the lazy dog\n');
  return Array.from({ length: 8 }, () => {
    const block = Buffer.alloc(1 << 20);
    for (let offset = 0; offset < block.length; offset += 8192) {
      randomFillSync(block, offset, 4096);
      for (let i = offset + 4096; i < offset + 8192; i += text.length)
        text.copy(block, i, 0, Math.min(text.length, offset + 8192 - i));
    }
    return block;
  });
}

function elfHeader(arch) {
  const header = Buffer.alloc(64);
  header.set([0x7f, 0x45, 0x4c, 0x46, 2, arch === 's390x' ? 2 : 1, 1]);
  const bigEndian = arch === 's390x';
  if (bigEndian) {
    header.writeUInt16BE(2, 16);
    header.writeUInt16BE(ELF_MACHINE[arch], 18);
  } else {
    header.writeUInt16LE(2, 16);
    header.writeUInt16LE(ELF_MACHINE[arch], 18);
  }
  return header;
}

function writeSized(file, size, blocks, state, prefix) {
  const fd = openSync(file, 'w', 0o644);
  let written = 0;
  if (prefix !== undefined && size >= prefix.length) {
    writeSync(fd, prefix);
    written = prefix.length;
  }
  while (written < size) {
    const block = blocks[state.next++ % blocks.length];
    const n = Math.min(block.length, size - written);
    writeSync(fd, block, 0, n);
    written += n;
  }
  closeSync(fd);
}

/**
 * A stand-in for containerd-shim-kata-v2 that proves containerd exec'ed it: it appends the path it was run
 * as, its arguments and the options containerd wrote to its stdin (ConfigPath names the handler) to
 * `marker`, then fails as a shim that cannot start would.
 */
export function recordingShim(marker) {
  return [
    '#!/bin/sh',
    `{ printf 'exec=%s args=%s stdin=' "$0" "$*"; tr -c '[:print:]' '.'; echo; } >> ${marker}`,
    'echo "kata-deploy test shim: exec recorded, not starting a VM" >&2',
    'exit 1',
    '',
  ].join('\n');
}

/**
 * Builds the tree under `<dir>/opt/kata`; returns the number of regular files written. With
 * `recordingShimMarker`, both shim binaries are recordingShim scripts writing to that host path.
 */
export function buildSampleTree(
  dir,
  { size = 5 << 20, files = 120, arch = 'x86_64', recordingShimMarker, devkit = false } = {},
) {
  const root = path.join(dir, 'opt/kata');
  const put = (rel, data, mode = 0o644) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), data, { mode });
  };
  put('VERSION', '4.0.0\n');
  put(
    'versions.yaml',
    'assets:\n  kernel:\n    version: "v6.18.35"\n  hypervisor:\n    qemu:\n      version: "v11.0.1"\n',
  );
  put('bin/kata-collect-data.sh', '#!/bin/bash\necho "collect"\n', 0o755);
  put('share/kata-qemu/qemu/firmware/60-edk2-x86_64.json', '{ "description": "UEFI firmware for x86_64" }\n');
  let count = 4;
  for (const shim of SHIM_CATALOGUE.values()) {
    put(shimConfigRelPath(shim), renderSampleConfig(shim, arch));
    count += 1;
  }
  const big = bigFiles(arch);
  const fillers = Math.max(0, files - count - big.length);
  const fillerSize = 16 * 1024;
  const budget = Math.max(big.length * 1024, size - fillers * fillerSize - 200 * 1024);
  const totalWeight = big.reduce((sum, [, weight]) => sum + weight, 0);
  const blocks = makeBlocks();
  const state = { next: 0 };
  for (const [rel, weight, elf] of big) {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeSized(file, Math.floor((budget * weight) / totalWeight), blocks, state, elf ? elfHeader(arch) : undefined);
    if (elf) spawnSync('chmod', ['0755', file]);
    count += 1;
  }
  if (devkit) {
    // Upstream's rootfs-image-devkit-extension artifact: the image and its dm-verity root hash.
    put('share/kata-containers/kata-containers-devkit-extension.img', Buffer.alloc(4096));
    put('share/kata-containers/root_hash_devkit-extension.txt', 'root_hash=5a5a salt=01 data_blocks=1\n');
    count += 2;
  }
  if (recordingShimMarker !== undefined) {
    for (const rel of ['bin/containerd-shim-kata-v2', 'runtime-rs/bin/containerd-shim-kata-v2'])
      put(rel, recordingShim(recordingShimMarker), 0o755);
  }
  for (let i = 0; i < fillers; i += 1) {
    const file = path.join(
      root,
      `share/kata-containers/modules/${KVER}/kernel/drivers/mod${String(i).padStart(4, '0')}.ko`,
    );
    mkdirSync(path.dirname(file), { recursive: true });
    writeSized(file, fillerSize, blocks, state);
    count += 1;
  }
  for (const [rel, target] of [...LINKS, ...(arch === 'x86_64' || arch === 'aarch64' ? LINKS_X86_ARM : [])]) {
    symlinkSync(target, path.join(root, rel));
  }
  return count;
}

const COMPRESSORS = { zst: 'zstd -T0 -3 -q', xz: 'xz -T0 -1', gz: 'gzip -1', tar: undefined };

/** Packs `<dir>/opt` into `out` the way release tarballs are packed: `./opt/kata/...`, root-owned. */
export function packTree(dir, out, compression = 'zst') {
  const args = ['-c', '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-f', out];
  if (COMPRESSORS[compression] !== undefined) args.push('-I', COMPRESSORS[compression]);
  args.push('-C', dir, './opt');
  const result = spawnSync('tar', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`tar exited ${result.status}`);
}

/** Makes a sample payload archive; returns its path and file count. */
export function makeSamplePayload({
  out,
  size,
  files,
  arch = 'x86_64',
  compression = 'zst',
  recordingShimMarker,
  devkit,
}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'kata-sample-'));
  try {
    const count = buildSampleTree(dir, { size, files, arch, recordingShimMarker, devkit });
    packTree(dir, out, compression);
    return { out, files: count };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseSize(text) {
  const match = /^(\d+(?:\.\d+)?)([KMG]?)$/i.exec(text);
  if (match === null) throw new Error(`bad size ${text}`);
  return Math.round(Number(match[1]) * { '': 1, K: 1024, M: 1 << 20, G: 1 << 30 }[match[2].toUpperCase()]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const args = Object.fromEntries(
    argv.flatMap((arg, i) => (arg.startsWith('--') ? [[arg.slice(2), argv[i + 1]]] : [])),
  );
  if (args.out === undefined) throw new Error('--out is required');
  const result = makeSamplePayload({
    out: path.resolve(args.out),
    size: parseSize(args.size ?? '5M'),
    files: Number(args.files ?? 120),
    arch: args.arch ?? 'x86_64',
    compression: args.compression ?? 'zst',
    recordingShimMarker: args['recording-shim'],
    devkit: args.devkit === 'yes',
  });
  console.log(`${result.out}: ${result.files} files`);
}
