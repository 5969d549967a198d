import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Where the learner's state lives, under the workbook root (git-ignored). */
export const WORKBOOK_DIR = '.workbook';

/** A timestamp safe in file names on every platform, sorting in time order: `2025-11-23T14-51-00.123Z`. */
export function fileStamp(date: Date): string {
  return date.toISOString().replace(/:/g, '-');
}

/** `root`-relative with forward slashes, for messages. */
export function relTo(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/');
}

/**
 * Writes `data` to `file` atomically: a temp file in the same folder, then a rename over the target,
 * so a crash leaves either the old file or the new one, never half of one.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fs.writeFile(temp, data);
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}

/** Creates a new folder `<base>`, or `<base>-1`, `<base>-2`… if it already exists; returns its path. */
export async function makeFreshDir(base: string): Promise<string> {
  await fs.mkdir(path.dirname(base), { recursive: true });
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? base : `${base}-${n}`;
    try {
      await fs.mkdir(candidate);
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** `<base>`, or `<base>-1`, `<base>-2`… : the first that does not exist yet. */
export async function freePath(base: string): Promise<string> {
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? base : `${base}-${n}`;
    try {
      await fs.lstat(candidate);
    } catch {
      return candidate;
    }
  }
}
