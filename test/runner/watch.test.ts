import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchFiles, type FileWatch } from '../../src/runner/watch.ts';

describe('watchFiles', () => {
  let dir: string;
  let watch: FileWatch | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tracecraft-watch-'));
    await mkdir(path.join(dir, 'domain'));
    await writeFile(path.join(dir, 'notes.md'), 'notes');
    await writeFile(path.join(dir, 'domain', 'order.ts'), 'export {};');
  });
  afterEach(async () => {
    watch?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const nextChange = (files: string[]): Promise<string[]> =>
    new Promise((resolve) => {
      watch = watchFiles(dir, files, (changed) => resolve(changed.sort()));
    });

  it('reports a burst of saves once, with every file of it, sub-folders included', async () => {
    const changed = nextChange(['domain/order.ts', 'app.ts']);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeFile(path.join(dir, 'domain', 'order.ts'), 'export const a = 1;');
    await writeFile(path.join(dir, 'app.ts'), 'export const b = 2;');
    expect(await changed).toEqual([path.join(dir, 'app.ts'), path.join(dir, 'domain', 'order.ts')]);
  });

  it('also reports a TypeScript file the learner adds, but not other files', async () => {
    const changed = nextChange(['domain/order.ts']);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeFile(path.join(dir, 'notes.md'), 'more notes');
    await writeFile(path.join(dir, 'domain', 'new-adapter.ts'), 'export {};');
    expect(await changed).toEqual([path.join(dir, 'domain', 'new-adapter.ts')]);
  });
});
