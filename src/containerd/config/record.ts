import type { RuntimeFlavour } from '../../settings/settings.js';

/**
 * What one install did to one runtime config file: enough for uninstall to restore it byte for byte when
 * nobody touched it since, or to remove only our parts when someone did. JSON-serialisable.
 */
export interface RecordedConfigFile {
  readonly path: string;
  /** The bytes before we first changed the file (base64), or null when we created it. */
  readonly original: string | null;
  /** sha256 (hex) of the bytes we wrote: equal to the file's hash means nobody changed it since. */
  readonly writtenSha256: string;
  /** True for files we render whole (our drop-ins): uninstall deletes them. */
  readonly ownedWhole: boolean;
  /** Key paths of the tables we inserted into an operator's file. */
  readonly tables: readonly (readonly string[])[];
  /** The exact block of text we appended, so removal can cut exactly it. */
  readonly inserted: string | null;
  /** The `imports` entry we added to make our drop-in visible, if any. */
  readonly importEntry: string | null;
  /** The entry we added after it for the operator's drop-in (CONTAINERD_USER_DROP_IN_SOURCE_FILE), if any. */
  readonly userImportEntry?: string | null;
}

/** The ledger entry of the runtime-config step of one install. */
export interface RuntimeConfigRecord {
  readonly schema: 1;
  readonly flavour: RuntimeFlavour;
  /** Handler names we defined (RuntimeClasses point at these). */
  readonly handlers: readonly string[];
  /** Whether we also defined a runc handler (a containerd 1.x config without one). */
  readonly addedRunc: boolean;
  readonly files: readonly RecordedConfigFile[];
  /** Whether we raised containerd's `[debug] level` (DEBUG); absent in ledgers older than that. */
  readonly debugLevel?: boolean;
  /**
   * What containerd accepted when this install validated the config it wrote (acceptedConfigKey): the
   * validating binary's identity and a digest of every file it read. Absent in older ledgers.
   */
  readonly acceptedConfig?: string;
}
