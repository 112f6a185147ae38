/** The oldest Node major the CLI runs on (package.json "engines"; commander and undici need it). */
export const MIN_NODE_MAJOR = 24;

/**
 * The one line to print when this Node is too old, or undefined when it will do. Pure, and imports
 * nothing, so the entry point can ask before any dependency loads: on an older Node a dependency can die at
 * import with an error that tells an operator nothing.
 */
export function unsupportedNodeMessage(nodeVersion: string): string | undefined {
  const major = Number.parseInt(nodeVersion.replace(/^v/, ''), 10);
  if (major >= MIN_NODE_MAJOR) return undefined;
  return (
    `kata-deploy: needs Node.js ${MIN_NODE_MAJOR} or newer, this is ${nodeVersion}: run the standalone binary ` +
    `dist/standalone/kata-deploy (no Node needed), or install Node.js >= ${MIN_NODE_MAJOR} (https://nodejs.org)`
  );
}
