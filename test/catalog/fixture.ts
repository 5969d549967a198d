import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Files of a workbook tree, by root-relative path. A value of `null` removes the file from a tree. */
export type Tree = Record<string, string | null>;

export async function makeTempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `tracecraft-${prefix}-`));
}

export async function writeTree(root: string, tree: Tree): Promise<void> {
  for (const [file, content] of Object.entries(tree)) {
    if (content === null) continue;
    const abs = path.join(root, file);
    await fs.mkdir(path.dirname(abs), { recursive: true });
    await fs.writeFile(abs, content);
  }
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function trackJson(id: string, overrides: Record<string, unknown> = {}): string {
  return json({ version: 1, id, title: `Track ${id}`, summary: `About ${id}.`, ...overrides });
}

export function exerciseJson(id: string, track: string, overrides: Record<string, unknown> = {}): string {
  return json({
    version: 1,
    id,
    title: `Exercise ${id}`,
    track,
    difficulty: 1,
    summary: `Do ${id}.`,
    files: ['main.ts'],
    hints: ['First hint.', 'Second hint.'],
    servers: [],
    ...overrides,
  });
}

/** Everything one valid exercise needs: metadata, README, starter, solution and checker. */
export function exerciseFiles(trackFolder: string, folder: string, meta: string, files: readonly string[] = ['main.ts']): Tree {
  const tree: Tree = {
    [`exercises/${trackFolder}/${folder}/exercise.json`]: meta,
    [`exercises/${trackFolder}/${folder}/README.md`]: `# ${folder}\n`,
    [`checker/${trackFolder}/${folder}.test.ts`]: '// checks\n',
  };
  for (const file of files) {
    tree[`exercises/${trackFolder}/${folder}/${file}`] = `// starter ${file}\n`;
    tree[`solutions/${trackFolder}/${folder}/${file}`] = `// solution ${file}\n`;
  }
  return tree;
}

/**
 * A valid workbook: two tracks listed out of name order on disk (2-basics sorts before 10-advanced),
 * plus folders and files the loader must ignore.
 */
export function validTree(): Tree {
  return {
    'exercises/10-advanced/track.json': trackJson('advanced', { title: 'Advanced' }),
    ...exerciseFiles('10-advanced', '01-saga', exerciseJson('saga', 'advanced', { difficulty: 4, servers: ['postgres', 'rabbitmq'] })),
    'exercises/2-basics/track.json': trackJson('basics', { title: 'Basics' }),
    ...exerciseFiles('2-basics', '10-retry', exerciseJson('retry', 'basics', { difficulty: 2 })),
    ...exerciseFiles('2-basics', '2-first-span', exerciseJson('first-span', 'basics', { files: ['main.ts', 'lib/util.ts'] }), [
      'main.ts',
      'lib/util.ts',
    ]),
    ...exerciseFiles('2-basics', '3-nested-spans', exerciseJson('nested-spans', 'basics', { difficulty: 3 })),
    // Ignored: not numbered, or not a folder.
    'exercises/README.md': '# Exercises\n',
    'exercises/drafts/01-idea/exercise.json': '{ not even json',
    'exercises/2-basics/notes.md': 'notes\n',
    'exercises/2-basics/wip/exercise.json': '{',
  };
}
