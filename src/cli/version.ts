import { readFileSync } from 'node:fs';

/** Replaced by esbuild's `define` in the bundle and the standalone binary, where no package.json is beside the code. */
declare const __KATA_DEPLOY_VERSION__: string | undefined;

/**
 * package.json's version, which `kata-deploy --version` prints. The bundle (scripts/bundle.mjs) inlines it
 * at build time; the tsc build (dist/cli/) and the sources (src/cli/) both sit two levels below package.json
 * and read it there, so every build reports the version it was built from without a generated file.
 */
export function packageVersion(): string {
  if (typeof __KATA_DEPLOY_VERSION__ === 'string') return __KATA_DEPLOY_VERSION__;
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}
