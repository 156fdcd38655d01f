/** Reads settings from the environment with clear errors: `setting.int('PORT', 3000)`. */
export class SettingError extends Error {
  override readonly name = 'SettingError';
}

export const setting = {
  string(name: string, fallback?: string): string {
    const value = process.env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    throw new SettingError(`${name} must be set`);
  },
  int(name: string, fallback?: number): number {
    const raw = process.env[name];
    if (raw === undefined || raw === '') {
      if (fallback !== undefined) return fallback;
      throw new SettingError(`${name} must be set`);
    }
    const value = Number(raw);
    if (!Number.isSafeInteger(value))
      throw new SettingError(`${name} must be an integer, got "${raw}"`);
    return value;
  },
  list(name: string, fallback: string[]): string[] {
    const raw = process.env[name];
    return raw
      ? raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : fallback;
  },
};
