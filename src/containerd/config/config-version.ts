import { configVersionMismatch, type SemVer } from '../../core/containerd-version.js';
import { KataDeployError } from '../../core/errors.js';
import type { ConfigVersion } from './handler-tables.js';
import type { TomlDocument } from './toml-document.js';

/**
 * The config `version` as containerd reads it (absent = 1), refusing values containerd does not know, and
 * refusing a file the running daemon would ignore or reject: containerd 1.6 loads a `version = 3` file and
 * silently drops every section, so handlers written there would never appear.
 */
export function configVersionOf(doc: TomlDocument, daemon: SemVer | undefined): ConfigVersion {
  const raw = doc.value['version'];
  if (raw === undefined) return 1;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > 4) {
    throw new KataDeployError('config-refused', `${doc.path}: unknown containerd config version ${JSON.stringify(raw)} (field "version")`, {
      hint: 'containerd knows config versions 1 to 4; fix the version line and run kata-deploy again',
    });
  }
  const version = raw as ConfigVersion;
  if (daemon !== undefined) {
    const mismatch = configVersionMismatch(daemon, version);
    if (mismatch !== undefined) {
      throw new KataDeployError('config-refused', `${doc.path}: version = ${version}, but ${mismatch}`, {
        hint: 'write the config in a version the running containerd reads (containerd config migrate), or upgrade containerd',
      });
    }
  }
  return version;
}
