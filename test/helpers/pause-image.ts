import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { craftTar } from './tar-craft.js';

const REPO = path.resolve(import.meta.dirname, '../..');

/** Debian's busybox-static: one static binary, so the image needs no libraries. */
export const STATIC_BUSYBOX = '/bin/busybox';

/** The reference the test's containerd config names as its sandbox (pause) image. */
export const PAUSE_IMAGE = 'localhost/kata-deploy-test/pause:1';

/** Why the pause image cannot be built here, or undefined. */
export function pauseImageMissing(): string | undefined {
  if (!existsSync(STATIC_BUSYBOX)) return `needs a static ${STATIC_BUSYBOX} (apt-get install -y busybox-static)`;
  const elf = readFileSync(STATIC_BUSYBOX).subarray(0, 64);
  if (elf.readUInt32BE(0) !== 0x7f454c46) return `${STATIC_BUSYBOX} is not an ELF binary`;
  return undefined;
}

function blob(json: unknown): { bytes: Buffer; digest: string } {
  const bytes = Buffer.from(JSON.stringify(json));
  return { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

function ociArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

/**
 * A minimal pause image as an OCI image-layout tarball (what `ctr images import` reads): one uncompressed
 * layer with the static busybox, whose entrypoint sleeps forever as a pause container does. Built from
 * the host's busybox, no registry; cached under .cache/ by the busybox's digest.
 */
export function pauseImageTarball(): string {
  const busybox = readFileSync(STATIC_BUSYBOX);
  const layer = craftTar([
    { name: 'bin/', type: 'dir' },
    { name: 'bin/busybox', body: busybox, mode: 0o755 },
    { name: 'pause', type: 'symlink', linkName: 'bin/busybox' },
  ]);
  const layerDigest = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
  const config = blob({
    architecture: ociArch(),
    os: 'linux',
    config: { Entrypoint: ['/bin/busybox', 'sleep', '2147483647'] },
    rootfs: { type: 'layers', diff_ids: [layerDigest] },
  });
  const manifest = blob({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.bytes.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
  });
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: manifest.digest,
        size: manifest.bytes.length,
        platform: { architecture: ociArch(), os: 'linux' },
        annotations: { 'io.containerd.image.name': PAUSE_IMAGE, 'org.opencontainers.image.ref.name': '1' },
      },
    ],
  };
  const hex = (digest: string) => digest.slice('sha256:'.length);
  const archive = craftTar([
    { name: 'oci-layout', body: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
    { name: 'index.json', body: JSON.stringify(index) },
    { name: 'blobs/', type: 'dir' },
    { name: 'blobs/sha256/', type: 'dir' },
    { name: `blobs/sha256/${hex(layerDigest)}`, body: layer },
    { name: `blobs/sha256/${hex(config.digest)}`, body: config.bytes },
    { name: `blobs/sha256/${hex(manifest.digest)}`, body: manifest.bytes },
  ]);
  const dir = path.join(REPO, '.cache/test-images');
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `pause-${createHash('sha256').update(archive).digest('hex').slice(0, 16)}.tar`);
  if (!existsSync(out)) {
    const partial = `${out}.${process.pid}.partial`;
    writeFileSync(partial, archive);
    renameSync(partial, out);
  }
  return out;
}
