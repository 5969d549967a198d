import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CatalogError, loadCatalog, type Catalog } from '../../src/catalog/index.ts';
import { exerciseFiles, exerciseJson, json, makeTempDir, trackJson, validTree, writeTree, type Tree } from './fixture.ts';

let root: string;

beforeEach(async () => {
  root = await makeTempDir('catalog');
});

afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function load(tree: Tree): Promise<Catalog> {
  await writeTree(root, tree);
  return loadCatalog(root);
}

/** Loads a tree that must fail and returns the problems reported, one per line. */
async function problems(tree: Tree): Promise<string[]> {
  await writeTree(root, tree);
  const error: unknown = await loadCatalog(root).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CatalogError);
  const catalogError = error as CatalogError;
  expect(catalogError.message).toBe(catalogError.problems.join('\n'));
  return [...catalogError.problems];
}

const BASICS_META = 'exercises/2-basics/2-first-span/exercise.json';

function withMeta(overrides: Record<string, unknown>): Tree {
  return { ...validTree(), [BASICS_META]: exerciseJson('first-span', 'basics', { files: ['main.ts', 'lib/util.ts'], ...overrides }) };
}

describe('loadCatalog on a valid workbook', () => {
  it('orders tracks and exercises by the numbers in their folder names, ignoring other entries', async () => {
    const catalog = await load(validTree());
    expect(catalog.tracks.map((t) => t.id)).toEqual(['basics', 'advanced']);
    expect(catalog.exercises.map((e) => e.id)).toEqual(['first-span', 'nested-spans', 'retry', 'saga']);
  });

  it('fills every field of tracks and exercises, with absolute paths', async () => {
    const catalog = await load(validTree());
    expect(catalog.root).toBe(path.resolve(root));
    expect(catalog.tracks[0]).toEqual({
      id: 'basics',
      title: 'Basics',
      summary: 'About basics.',
      dir: path.join(root, 'exercises', '2-basics'),
    });
    expect(catalog.byId('first-span')).toEqual({
      id: 'first-span',
      title: 'Exercise first-span',
      track: 'basics',
      trackTitle: 'Basics',
      difficulty: 1,
      summary: 'Do first-span.',
      files: ['main.ts', 'lib/util.ts'],
      hints: ['First hint.', 'Second hint.'],
      servers: [],
      relDir: '2-basics/2-first-span',
      dir: path.join(root, 'exercises', '2-basics', '2-first-span'),
      solutionDir: path.join(root, 'solutions', '2-basics', '2-first-span'),
      checkerFile: path.join(root, 'checker', '2-basics', '2-first-span.test.ts'),
      readmeFile: path.join(root, 'exercises', '2-basics', '2-first-span', 'README.md'),
    });
    expect(catalog.byId('saga')).toMatchObject({ difficulty: 4, servers: ['postgres', 'rabbitmq'], trackTitle: 'Advanced' });
  });

  it('looks exercises up by id and by track', async () => {
    const catalog = await load(validTree());
    expect(catalog.byId('retry')?.relDir).toBe('2-basics/10-retry');
    expect(catalog.byId('nope')).toBeUndefined();
    expect(catalog.inTrack('basics').map((e) => e.id)).toEqual(['first-span', 'nested-spans', 'retry']);
    expect(catalog.inTrack('advanced').map((e) => e.id)).toEqual(['saga']);
    expect(catalog.inTrack('nope')).toEqual([]);
  });

  it('accepts a relative root and a track with no exercises yet', async () => {
    await writeTree(root, { ...validTree(), 'exercises/11-empty/track.json': trackJson('empty') });
    const catalog = await loadCatalog(path.relative(process.cwd(), root));
    expect(catalog.root).toBe(path.resolve(root));
    expect(catalog.tracks.map((t) => t.id)).toEqual(['basics', 'advanced', 'empty']);
    expect(catalog.inTrack('empty')).toEqual([]);
  });
});

describe('loadCatalog reports each problem naming the file and the field', () => {
  it('a difficulty out of range', async () => {
    expect(await problems(withMeta({ difficulty: 7 }))).toEqual([
      `${BASICS_META}: "difficulty" must be a number from 1 to 4 (got 7)`,
    ]);
  });

  it('invalid JSON, with the parser message', async () => {
    const text = '{ "version": 1, "id": ';
    let parserMessage = '';
    try {
      JSON.parse(text);
    } catch (error) {
      parserMessage = (error as Error).message;
    }
    expect(parserMessage).not.toBe('');
    expect(await problems({ ...validTree(), [BASICS_META]: text })).toEqual([`${BASICS_META}: invalid JSON: ${parserMessage}`]);
  });

  it('a missing exercise.json, README.md or track.json', async () => {
    expect(
      await problems({
        ...validTree(),
        [BASICS_META]: null,
        'exercises/2-basics/10-retry/README.md': null,
        'exercises/10-advanced/track.json': null,
      }),
    ).toEqual([
      `${BASICS_META}: missing (every exercise folder needs an exercise.json)`,
      'exercises/2-basics/10-retry/README.md: missing (every exercise needs its instructions in README.md)',
      'exercises/10-advanced/track.json: missing (every track folder needs a track.json)',
    ]);
  });

  it('a listed file missing from exercises/ or solutions/', async () => {
    expect(
      await problems({
        ...validTree(),
        'exercises/2-basics/2-first-span/lib/util.ts': null,
        'solutions/2-basics/2-first-span/main.ts': null,
      }),
    ).toEqual([
      `${BASICS_META}: "files" lists "main.ts" but solutions/2-basics/2-first-span/main.ts does not exist`,
      `${BASICS_META}: "files" lists "lib/util.ts" but exercises/2-basics/2-first-span/lib/util.ts does not exist`,
    ]);
  });

  it('a missing solution folder, once rather than per file', async () => {
    const tree = validTree();
    delete tree['solutions/2-basics/2-first-span/main.ts'];
    delete tree['solutions/2-basics/2-first-span/lib/util.ts'];
    expect(await problems(tree)).toEqual([
      'solutions/2-basics/2-first-span/: missing (the reference solution of exercise "first-span")',
    ]);
  });

  it('a missing checker file', async () => {
    expect(await problems({ ...validTree(), 'checker/10-advanced/01-saga.test.ts': null })).toEqual([
      'checker/10-advanced/01-saga.test.ts: missing (the checks for exercise "saga")',
    ]);
  });

  it('a duplicate exercise id, naming both folders', async () => {
    expect(
      await problems({
        ...validTree(),
        ...exerciseFiles('10-advanced', '02-retry', exerciseJson('retry', 'advanced')),
      }),
    ).toEqual([
      'exercises/10-advanced/02-retry/exercise.json: "id" "retry" is already used by the exercise in exercises/2-basics/10-retry/',
    ]);
  });

  it('a duplicate track id, naming both folders', async () => {
    expect(await problems({ ...validTree(), 'exercises/20-basics/track.json': trackJson('basics') })).toEqual([
      'exercises/20-basics/track.json: "id" "basics" is already used by the track in exercises/2-basics/',
    ]);
  });

  it('an exercise whose track is not its folder’s track', async () => {
    expect(await problems(withMeta({ track: 'advanced' }))).toEqual([
      `${BASICS_META}: "track" must be "basics", the id in exercises/2-basics/track.json (got "advanced")`,
    ]);
  });

  it('an id that does not match its folder name', async () => {
    expect(
      await problems({
        ...withMeta({ id: 'first' }),
        'exercises/10-advanced/track.json': trackJson('expert'),
      }),
    ).toEqual([
      `${BASICS_META}: "id" must match the folder name "first-span" (got "first")`,
      'exercises/10-advanced/track.json: "id" must match the folder name "advanced" (got "expert")',
    ]);
  });

  it('unknown fields', async () => {
    expect(await problems(withMeta({ author: 'me', tags: [] }))).toEqual([
      `${BASICS_META}: unknown field "author"`,
      `${BASICS_META}: unknown field "tags"`,
    ]);
  });

  it('missing and mistyped fields', async () => {
    const meta = JSON.parse(exerciseJson('first-span', 'basics', { files: ['main.ts', 'lib/util.ts'] })) as Record<string, unknown>;
    delete meta.title;
    meta.version = 2;
    meta.summary = '   ';
    expect(await problems({ ...validTree(), [BASICS_META]: json(meta) })).toEqual([
      `${BASICS_META}: "version" must be 1, the catalog format this workbook reads (got 2)`,
      `${BASICS_META}: "title" must be a non-empty string (missing)`,
      `${BASICS_META}: "summary" must be a non-empty string (got "   ")`,
    ]);
  });

  it('an id that is not a slug', async () => {
    expect(await problems(withMeta({ id: 'First_Span' }))).toEqual([
      `${BASICS_META}: "id" must be a slug: lowercase letters and digits separated by single hyphens (got "First_Span")`,
    ]);
  });

  it('files outside the exercise folder, or none at all', async () => {
    expect(await problems(withMeta({ files: ['../main.ts', '/etc/passwd', 'lib/../../x.ts', 'C:\\x.ts', 3] }))).toEqual([
      `${BASICS_META}: "files[0]" must be a relative path inside the exercise folder (no "..", not absolute) (got "../main.ts")`,
      `${BASICS_META}: "files[1]" must be a relative path inside the exercise folder (no "..", not absolute) (got "/etc/passwd")`,
      `${BASICS_META}: "files[2]" must be a relative path inside the exercise folder (no "..", not absolute) (got "lib/../../x.ts")`,
      `${BASICS_META}: "files[3]" must be a relative path inside the exercise folder (no "..", not absolute) (got "C:\\\\x.ts")`,
      `${BASICS_META}: "files[4]" must be a relative path inside the exercise folder (no "..", not absolute) (got 3)`,
    ]);
    expect(await problems(withMeta({ files: [] }))).toEqual([
      `${BASICS_META}: "files" must be a non-empty list of the source files the learner edits (got [])`,
    ]);
  });

  it('no hints, or an empty one', async () => {
    expect(await problems(withMeta({ hints: [] }))).toEqual([
      `${BASICS_META}: "hints" must be a list of at least one hint (got [])`,
    ]);
    expect(await problems(withMeta({ hints: ['ok', ''] }))).toEqual([
      `${BASICS_META}: "hints[1]" must be a non-empty string (got "")`,
    ]);
  });

  it('an unknown server', async () => {
    expect(await problems(withMeta({ servers: ['postgres', 'mongodb'] }))).toEqual([
      `${BASICS_META}: "servers[1]" must be one of postgres, redis, rabbitmq, nats, mariadb, mosquitto (got "mongodb")`,
    ]);
  });

  it('a file that is not a JSON object', async () => {
    expect(await problems({ ...validTree(), [BASICS_META]: '[1, 2]' })).toEqual([
      `${BASICS_META}: must contain a JSON object (got a list)`,
    ]);
  });

  it('no exercises folder at all', async () => {
    const error = await loadCatalog(root).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CatalogError);
    expect((error as CatalogError).message).toMatch(/^exercises\/: failed to read the exercises folder: ENOENT/);
  });

  it('every problem at once, in folder order, one per line', async () => {
    const tree: Tree = {
      ...validTree(),
      [BASICS_META]: exerciseJson('first-span', 'basics', { files: ['main.ts', 'lib/util.ts'], difficulty: 0 }),
      'exercises/2-basics/3-nested-spans/README.md': null,
      'exercises/10-advanced/01-saga/exercise.json': '{',
      'checker/10-advanced/01-saga.test.ts': null,
    };
    const lines = await problems(tree);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(`${BASICS_META}: "difficulty" must be a number from 1 to 4 (got 0)`);
    expect(lines[1]).toBe('exercises/2-basics/3-nested-spans/README.md: missing (every exercise needs its instructions in README.md)');
    expect(lines[2]).toMatch(/^exercises\/10-advanced\/01-saga\/exercise\.json: invalid JSON: /);
    expect(lines[3]).toBe('checker/10-advanced/01-saga.test.ts: missing (the checks for exercise "saga")');
  });
});

describe('the real workbook', () => {
  it('loads the repository catalog, which includes first-span', async () => {
    const repoRoot = path.resolve(import.meta.dirname, '..', '..');
    const catalog = await loadCatalog(repoRoot);
    const firstSpan = catalog.byId('first-span');
    expect(firstSpan).toMatchObject({ track: 'foundations', trackTitle: 'Foundations', relDir: '01-foundations/01-first-span' });
    expect(catalog.tracks[0]?.id).toBe('foundations');
    const ids = catalog.exercises.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
