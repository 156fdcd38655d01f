import type { Upcaster } from './types';
import { UnknownSchemaVersionError } from './errors';

/**
 * The schema versions the store knows: the current version of each event type and the steps that
 * lift stored data from one version to the next. Pure: no database here.
 */
export class SchemaRegistry {
  private readonly current: ReadonlyMap<string, number>;
  /** type -> fromVersion -> step */
  private readonly steps = new Map<string, Map<number, Upcaster['upcast']>>();

  constructor(upcasters: readonly Upcaster[] = [], currentVersions: Record<string, number> = {}) {
    const current = new Map<string, number>();
    for (const [type, version] of Object.entries(currentVersions)) {
      requireVersion(version, `currentVersions["${type}"]`);
      current.set(type, version);
    }
    this.current = current;

    for (const upcaster of upcasters) {
      requireVersion(upcaster.fromVersion, `upcaster ${upcaster.type} fromVersion`);
      const target = this.currentVersion(upcaster.type);
      // A step that can never run is a configuration mistake (usually a forgotten currentVersions
      // entry); failing here beats silently serving old-shaped data later.
      if (upcaster.fromVersion >= target) {
        throw new RangeError(
          `upcaster ${upcaster.type} v${upcaster.fromVersion}->v${upcaster.fromVersion + 1} ` +
            `is beyond the current version ${target}; set currentVersions["${upcaster.type}"]`,
        );
      }
      let byVersion = this.steps.get(upcaster.type);
      if (!byVersion) {
        byVersion = new Map();
        this.steps.set(upcaster.type, byVersion);
      }
      if (byVersion.has(upcaster.fromVersion)) {
        throw new RangeError(
          `two upcasters for ${upcaster.type} from version ${upcaster.fromVersion}`,
        );
      }
      byVersion.set(upcaster.fromVersion, upcaster.upcast);
    }
  }

  /** The version new events of `type` are written with, and old ones are read as. */
  currentVersion(type: string): number {
    return this.current.get(type) ?? 1;
  }

  /** The version an append stamps: the given one (not newer than current) or the current one. */
  versionForAppend(type: string, given: number | undefined): number {
    const current = this.currentVersion(type);
    if (given === undefined) return current;
    requireVersion(given, `schemaVersion of ${type}`);
    if (given > current) {
      throw new UnknownSchemaVersionError(type, given, current);
    }
    return given;
  }

  /**
   * Lifts `data` stored at `storedVersion` to the current version of `type`, one step at a time.
   * Throws when the stored version is newer than this code knows (a newer writer, an older
   * reader): reading it as if it were current would silently misinterpret it.
   */
  upcast(type: string, storedVersion: number, data: unknown): { data: unknown; version: number } {
    const current = this.currentVersion(type);
    if (storedVersion > current) throw new UnknownSchemaVersionError(type, storedVersion, current);
    let value = data;
    for (let version = storedVersion; version < current; version++) {
      const step = this.steps.get(type)?.get(version);
      if (!step) {
        throw new RangeError(
          `no upcaster for ${type} from version ${version} (stored at ${storedVersion}, current ${current})`,
        );
      }
      value = step(value);
    }
    return { data: value, version: current };
  }
}

function requireVersion(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${what} must be an integer >= 1, got ${String(value)}`);
  }
}
