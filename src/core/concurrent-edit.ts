import { KataDeployError } from './errors.js';

/**
 * The refusal (exit 5) when a file no longer holds the bytes a plan was made from: config management
 * wrote it between our read and our write. Overwriting would lose their edit and make uninstall later
 * restore the pre-edit bytes, so their edit stands and the run rolls back.
 */
export function changedWhileInstalling(hostPath: string): KataDeployError {
  return new KataDeployError(
    'config-refused',
    `${hostPath} changed while kata-deploy was installing (someone wrote it after it was read and planned); ` +
      'refusing to overwrite it',
    { hint: 'their edit stands and kata-deploy rolled its own changes back; rerun once the edit is done' },
  );
}

/** True when `now` holds exactly `expected` (null or undefined: absent). */
export function sameBytes(now: Uint8Array | undefined | null, expected: Uint8Array | undefined | null): boolean {
  if (now == null || expected == null) return (now ?? null) === (expected ?? null);
  return Buffer.from(now).equals(Buffer.from(expected));
}
