import fs from 'node:fs/promises';

/** A folder named `NN-name`: the number orders it, the name identifies it. */
export interface NumberedFolder {
  /** The folder's own name, `01-foundations`. */
  folder: string;
  order: number;
  /** The part after the number, `foundations`. */
  name: string;
}

const NUMBERED = /^(\d+)-(.+)$/;

export function parseNumberedFolder(folder: string): NumberedFolder | undefined {
  const match = NUMBERED.exec(folder);
  if (!match || match[1] === undefined || match[2] === undefined) return undefined;
  return { folder, order: Number.parseInt(match[1], 10), name: match[2] };
}

/** Orders by number, then by name (`2-b` before `10-a`). */
export function compareNumbered(a: NumberedFolder, b: NumberedFolder): number {
  return a.order - b.order || (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0);
}

/** The numbered sub-folders of `dir`, in order; other files and folders are ignored. Throws fs errors. */
export async function listNumberedFolders(dir: string): Promise<NumberedFolder[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const folders: NumberedFolder[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const parsed = parseNumberedFolder(entry.name);
    if (parsed) folders.push(parsed);
  }
  return folders.sort(compareNumbered);
}
