import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type Catalog } from '../../src/catalog/index.ts';
import { readWorkshopFile, resolveWorkshop, workshopCatalog, WorkshopError, type WorkshopSource } from '../../src/workshop/workshop-file.ts';
import { FIXTURE_WORKBOOK } from '../support/workbook.ts';

const valid = { version: 1, title: 'Tracing for backend developers', exercises: ['pictures', 'passes', 'faults'], solutionsBeforePass: false };

describe('the workshop file', () => {
  let dir: string;
  let catalog: Catalog;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tracecraft-workshop-'));
    catalog = await loadCatalog(FIXTURE_WORKBOOK);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function problemsOf(content: string, name = 'w.json'): Promise<readonly string[]> {
    const file = path.join(dir, name);
    await writeFile(file, content);
    try {
      const source = await readWorkshopFile(dir, file);
      if (source) resolveWorkshop(source, catalog);
      return [];
    } catch (error) {
      if (error instanceof WorkshopError) return error.problems;
      throw error;
    }
  }
  const source = (data: Partial<typeof valid> & Record<string, unknown>): WorkshopSource => ({ file: 'workshop.json', data: { ...valid, ...data } as WorkshopSource['data'] });

  it('is optional: a workbook without workshop.json has no workshop', async () => {
    expect(await readWorkshopFile(dir)).toBeUndefined();
  });

  it('takes tracks and exercises in its order, each track in the workbook order, and keeps its choices', async () => {
    const workshop = resolveWorkshop(source({ otlp: 'http://collector.example:4318' }), catalog);
    expect(workshop.exercises.map((e) => e.id)).toEqual([
      'wrong-span', 'passes',
      'throws-at-import', 'missing-export', 'unhandled-rejection', 'never-settles', 'replaces-provider', 'property',
    ]);
    expect(workshop).toMatchObject({ title: valid.title, solutionsBeforePass: false, otlp: 'http://collector.example:4318', file: 'workshop.json' });
  });

  it('shows only its exercises, in its order, and tracks in the order it reaches them', () => {
    const view = workshopCatalog(catalog, resolveWorkshop(source({ exercises: ['wrong-span', 'passes', 'fails', 'property'] }), catalog));
    expect(view.exercises.map((e) => e.id)).toEqual(['wrong-span', 'passes', 'fails', 'property']);
    expect(view.tracks.map((t) => t.id)).toEqual(['pictures', 'basics', 'faults']);
    expect(view.inTrack('basics').map((e) => e.id)).toEqual(['passes', 'fails']);
    expect(view.byId('hangs'), 'an exercise outside the workshop is not in its catalog').toBeUndefined();
  });

  it('names the file and the field of every problem with its shape', async () => {
    expect(await problemsOf(JSON.stringify({ version: 2, title: '', exercises: [], solutionsBeforePass: 'no', otlp: 'collector:4318', extra: 1 }))).toEqual([
      'w.json: "version" must be 1, the workshop format this workbook reads (got 2)',
      'w.json: "title" must be a non-empty string (got "")',
      'w.json: "exercises" must be a non-empty list of exercise ids and track ids, in the order the workshop takes them (got [])',
      'w.json: "solutionsBeforePass" must be true or false: whether learn shows the reference solution before the exercise passes (got "no")',
      'w.json: "otlp" must be the http:// or https:// base URL of an OTLP/HTTP endpoint, like http://collector.example:4318 (got "collector:4318")',
      'w.json: unknown field "extra"',
    ]);
    expect(await problemsOf(JSON.stringify({ ...valid, exercises: ['passes', 'Not A Slug'] }))).toEqual([
      'w.json: "exercises[1]" must be an exercise id or a track id: lowercase letters and digits separated by single hyphens (got "Not A Slug")',
    ]);
    expect(await problemsOf(JSON.stringify({ title: 'x', exercises: ['passes'] }))).toEqual([
      'w.json: "version" must be 1, the workshop format this workbook reads (missing)',
      'w.json: "solutionsBeforePass" must be true or false: whether learn shows the reference solution before the exercise passes (missing)',
    ]);
  });

  it('names the file when it is not JSON, or not there', async () => {
    const [notJson] = await problemsOf('{ "version": 1,');
    expect(notJson).toMatch(/^w\.json: invalid JSON: /);
    await expect(readWorkshopFile(dir, path.join(dir, 'missing.json'))).rejects.toThrow('missing.json: failed to read the workshop file: there is no such file');
  });

  it('names every id that is not in the workbook, with the close ones, and every exercise listed twice', async () => {
    expect(await problemsOf(JSON.stringify({ ...valid, exercises: ['pases', 'basic', 'nothing-like-it', 'basics', 'fails', 'wrong-span', 'wrong-span'] }))).toEqual([
      'w.json: "exercises[0]" "pases" is neither an exercise nor a track of this workbook. Did you mean: passes?',
      'w.json: "exercises[1]" "basic" is neither an exercise nor a track of this workbook. Did you mean: basics?',
      'w.json: "exercises[2]" "nothing-like-it" is neither an exercise nor a track of this workbook',
      'w.json: "exercises[4]" "fails" is already in the workshop, through track "basics" at "exercises[3]"',
      'w.json: "exercises[6]" "wrong-span" is already in the workshop, as "exercises[5]"',
    ]);
  });
});
