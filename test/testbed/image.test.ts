import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { nspawnNodeUnsupported } from '../helpers/nspawn-node.js';
import { samplePayload } from '../helpers/sample-payload.js';
import { imageContents, imageEnv, imageRoot } from '../helpers/testbed-roots.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
const runtimeStage = dockerfile.slice(dockerfile.indexOf('AS runtime'));
const one = (kind: string) => {
  const entries = imageContents().filter((entry) => entry.kind === kind);
  expect(entries, `scripts/image/runtime.list: exactly one "${kind}" entry`).toHaveLength(1);
  return entries[0]!.value;
};
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('scripts/image/runtime.list: the one list of what the image holds', () => {
  it('is what the Dockerfile runtime stage installs, copies, links and runs', () => {
    expect(runtimeStage).toContain('COPY scripts/image/runtime.list /tmp/runtime.list');
    const installs = runtimeStage.split('\n').filter((line) => line.includes('apt-get install'));
    expect(installs).toHaveLength(1);
    expect(installs[0]?.trim()).toBe(
      `&& apt-get install -y --no-install-recommends $(awk '$1 == "package" { print $2 }' /tmp/runtime.list) \\`,
    );
    expect(runtimeStage).toContain(`awk '$1 == "link" { print $2, $3 }' /tmp/runtime.list`);
    expect(runtimeStage).not.toMatch(/ln -s \//);
    expect(runtimeStage).toContain(`COPY --from=build /out/kata-deploy ${one('bundle')}\n`);
    const payloadDir = path.posix.dirname(one('payload'));
    expect(runtimeStage).toContain(`COPY --from=payload ${payloadDir} ${payloadDir}\n`);
    expect(dockerfile).toContain(`-o ${one('payload')} `);
    for (const [name, value] of Object.entries(imageEnv())) expect(runtimeStage).toMatch(` ${name}=${value}`);
    expect(runtimeStage).toContain(`ENTRYPOINT ${JSON.stringify(one('entrypoint').split(' '))}`.replace(/,/g, ', '));
  });

  it('names the Node the official node image has, at the major the project pins', () => {
    const pinned = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).devDependencies.node as string;
    expect(dockerfile).toContain(`ARG NODE_IMAGE=node:${pinned.split('.')[0]}-bookworm-slim`);
    expect(one('node')).toBe('/usr/local/bin/node');
  });
});

const unsupported = nspawnNodeUnsupported();

describe.skipIf(unsupported !== undefined)(
  `the test-bed image root (the runtime stage without Docker)${unsupported ? ` (skipped: ${unsupported})` : ''}`,
  () => {
    let root: string;
    let payload: string;
    const inImage = (...argv: string[]) =>
      execFileSync('/usr/sbin/chroot', [root, ...argv], {
        encoding: 'utf8',
        env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
      });

    beforeAll(async () => {
      payload = samplePayload();
      root = await imageRoot(payload);
    }, 900_000);

    it("has the list's Debian packages installed, and their programs run", () => {
      const status = readFileSync(path.join(root, 'var/lib/dpkg/status'), 'utf8');
      for (const { value } of imageContents().filter((entry) => entry.kind === 'package')) {
        expect(status).toMatch(new RegExp(`^Package: ${value}\\n(?:.+\\n)*?Status: install ok installed$`, 'm'));
      }
      expect(inImage('zstd', '--version')).toContain('Zstandard');
      expect(inImage('xz', '--version')).toContain('xz (XZ Utils)');
    });

    it('runs the bundled CLI on the Node the project pins, through the listed link', () => {
      expect(inImage(one('node'), '--version').trim()).toBe(process.version);
      const [link, target] = one('link').split(' ');
      expect(readlinkSync(path.join(root, link!))).toBe(target);
      expect(statSync(path.join(root, target!)).mode & 0o111).not.toBe(0);
      const version = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).version as string;
      expect(inImage(link!, '--version').trim()).toBe(version);
      const entrypoint = one('entrypoint').split(' ');
      expect(entrypoint[0]).toBe(one('node'));
      expect(entrypoint.slice(-2)).toEqual([path.posix.join(one('bundle'), 'kata-deploy.mjs'), 'daemon']);
      expect(inImage(...entrypoint.slice(0, -1), '--version').trim()).toBe(version);
      expect(existsSync(path.join(root, one('bundle'), 'node_modules/koffi'))).toBe(true);
    });

    it('holds the payload it was built for, byte for byte, and no node_modules beside the bundle but koffi', () => {
      expect(sha256(path.join(root, one('payload')))).toBe(sha256(payload));
      const modules = execFileSync('ls', [path.join(root, one('bundle'), 'node_modules')], { encoding: 'utf8' });
      expect(modules.split('\n').filter(Boolean).sort()).toEqual(['@koromix', 'koffi']);
    });
  },
);
