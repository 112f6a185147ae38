// One payload install in a fresh process, against the compiled dist/, the way the install transaction
// drives it (stage, commit, finalize: the pending manifest is promoted and the old tree dropped, so the
// next run sees a committed install): prints JSON with its own wall time, peak RSS and the bytes it wrote
// (/proc/self/io), so the parent measures exactly one run.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const repo = path.resolve(import.meta.dirname, '../../..');
const { stagePayload, commitStagedPayload, finalizePayload } = await import(path.join(repo, 'dist/payload/index.js'));
const { NodeHostFs } = await import(path.join(repo, 'dist/host/node-host-fs.js'));
const { silentLogger } = await import(path.join(repo, 'dist/host/logger.js'));
const { systemClock } = await import(path.join(repo, 'dist/host/clock.js'));

const io = () =>
  Object.fromEntries(
    readFileSync('/proc/self/io', 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const [key, value] = line.split(':');
        return [key, Number(value)];
      }),
  );

const [root, payload, sha] = process.argv.slice(2);
const settings = {
  payload,
  payloadSha256: sha === '-' ? undefined : sha,
  allowUnverifiedPayload: false,
  installDir: '/opt/kata',
  shims: ['qemu', 'qemu-runtime-rs', 'clh', 'fc', 'dragonball', 'qemu-nvidia-gpu', 'qemu-snp', 'qemu-tdx'],
  arch: 'x86_64',
  multiInstallSuffix: undefined,
};
const ports = { fs: new NodeHostFs(root), log: silentLogger(), clock: systemClock };
const before = io();
const started = performance.now();
const staged = await stagePayload(settings, ports);
const result = await commitStagedPayload(staged, settings, ports);
await finalizePayload(result, settings, ports);
const seconds = (performance.now() - started) / 1000;
const after = io();
console.log(
  JSON.stringify({
    seconds,
    unchanged: staged.unchanged,
    changed: result.changed,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    writeBytes: after.write_bytes - before.write_bytes,
    wchar: after.wchar - before.wchar,
  }),
);
