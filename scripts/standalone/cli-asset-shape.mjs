// How the standalone binary compiles its full-CLI asset, shared by the build's code-cache step
// (code-cache.mjs) and the loader in the binary (cli-from-asset.mjs): V8 matches a code cache to its source.

/** The SEA asset that holds the full CLI, and the file name its stack traces show. */
export const CLI_ASSET = 'kata-deploy-cli.cjs';
/** The asset that holds V8's code cache for it. */
export const CLI_CACHE_ASSET = 'kata-deploy-cli.code-cache';
/** The CommonJS wrapper's parameters the asset is compiled with. */
export const CLI_PARAMS = ['exports', 'require', 'module', '__filename', '__dirname'];
