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
  checkImportsField(doc);
  const raw = doc.value.version;
  if (raw === undefined) return 1;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > 4) {
    throw new KataDeployError(
      'config-refused',
      `${doc.path}: unknown containerd config version ${JSON.stringify(raw)} (field "version")`,
      {
        hint: 'containerd knows config versions 1 to 4; fix the version line and run kata-deploy again',
      },
    );
  }
  const version = raw as ConfigVersion;
  if (daemon !== undefined) {
    const mismatch = configVersionMismatch(daemon, version);
    if (mismatch !== undefined) {
      throw new KataDeployError('config-refused', `${doc.path}: version = ${version}, but ${mismatch}`, {
        hint:
          'write the config in a version the running containerd reads (containerd config migrate), or upgrade ' +
          'containerd',
      });
    }
  }
  return version;
}

/**
 * Refuses an `imports` that is not a list of strings: containerd would refuse it too, and we must read it
 * exactly to know which files it pulls in.
 */
export function checkImportsField(doc: TomlDocument): void {
  const imports = doc.value.imports;
  if (imports === undefined) return;
  if (!Array.isArray(imports) || imports.some((entry) => typeof entry !== 'string')) {
    throw new KataDeployError(
      'config-refused',
      `${doc.path}: field "imports" must be a list of file paths, found ${JSON.stringify(imports)}`,
      {
        hint: 'write imports = ["/path/one.toml", "/dir/*.toml"] and run kata-deploy again; nothing was changed',
      },
    );
  }
}
