import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  PROGRESS_FILE,
  PROGRESS_MOVED_ASIDE_WARNING,
  ProgressError,
  ProgressStore,
  REASON_BAD_FIELD,
  REASON_NOT_JSON,
  REASON_UNKNOWN_VERSION,
  type OpenOptions,
} from '../../src/progress/index.ts';

let root: string;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tracecraft-progress-'));
});

afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/** A clock that starts at a fixed instant and moves one minute per reading. */
function steppingClock(start = '2025-11-23T14:00:00.000Z'): OpenOptions {
  let t = Date.parse(start);
  return {
    now: () => {
      const d = new Date(t);
      t += 60_000;
      return d;
    },
  };
}

const progressPath = (): string => path.join(root, PROGRESS_FILE);

async function writeProgress(text: string): Promise<void> {
  await fs.mkdir(path.dirname(progressPath()), { recursive: true });
  await fs.writeFile(progressPath(), text);
}

describe('ProgressStore', () => {
  it('starts empty, without a warning or a file, when there is no progress file', async () => {
    const { store, warning } = await ProgressStore.open(root);
    expect(warning).toBeUndefined();
    expect(store.snapshot()).toEqual({ version: 1, exercises: {} });
    expect(store.get('first-span')).toBeUndefined();
    expect(store.current).toBeUndefined();
    await expect(fs.access(path.join(root, '.workbook'))).rejects.toThrow();
  });

  it('remembers across saves that an exercise was opened in learn', async () => {
    const { store } = await ProgressStore.open(root);
    store.markOpened('bulkhead');
    await store.save();
    const { store: again } = await ProgressStore.open(root);
    expect(again.get('bulkhead')?.opened).toBe(true);
    expect(again.get('first-span')?.opened).toBeUndefined();
  });

  it('saves and reads back the documented shape', async () => {
    const { store } = await ProgressStore.open(root, steppingClock());
    store.record('first-span', 'pass'); // 14:00
    store.record('nested-spans', 'fail'); // 14:01
    store.hintShown('nested-spans');
    store.solutionViewed('first-span');
    store.setCurrent('nested-spans');
    await store.save();

    const onDisk: unknown = JSON.parse(await fs.readFile(progressPath(), 'utf8'));
    expect(onDisk).toEqual({
      version: 1,
      exercises: {
        'first-span': {
          status: 'pass',
          lastRunAt: '2025-11-23T14:00:00.000Z',
          passedAt: '2025-11-23T14:00:00.000Z',
          hintsShown: 0,
          solutionViewed: true,
        },
        'nested-spans': { status: 'fail', lastRunAt: '2025-11-23T14:01:00.000Z', hintsShown: 1, solutionViewed: false },
      },
      current: 'nested-spans',
    });

    const reopened = await ProgressStore.open(root);
    expect(reopened.warning).toBeUndefined();
    expect(reopened.store.snapshot()).toEqual(store.snapshot());
    expect(reopened.store.current).toBe('nested-spans');
  });

  it('writes atomically: only progress.json is left in .workbook, and a second save replaces it', async () => {
    const { store } = await ProgressStore.open(root);
    store.record('first-span', 'fail');
    await store.save();
    store.record('first-span', 'pass');
    await store.save();
    expect(await fs.readdir(path.join(root, '.workbook'))).toEqual(['progress.json']);
    const reopened = await ProgressStore.open(root);
    expect(reopened.store.get('first-span')?.status).toBe('pass');
  });

  it('keeps the newest state when saves overlap, as when the learner asks for hints in a row', async () => {
    const { store } = await ProgressStore.open(root);
    const saves: Promise<void>[] = [];
    for (let hint = 1; hint <= 20; hint++) {
      store.hintShown('first-span');
      saves.push(store.save());
    }
    await Promise.all(saves);
    const reopened = await ProgressStore.open(root);
    expect(reopened.store.get('first-span')?.hintsShown).toBe(20);
    expect(await fs.readdir(path.join(root, '.workbook'))).toEqual(['progress.json']);
  });

  it('keeps the first passedAt when the exercise later fails or passes again', async () => {
    const { store } = await ProgressStore.open(root, steppingClock());
    store.record('saga', 'fail'); // 14:00
    expect(store.get('saga')?.passedAt).toBeUndefined();
    store.record('saga', 'pass'); // 14:01
    store.record('saga', 'fail'); // 14:02
    store.record('saga', 'pass'); // 14:03
    expect(store.get('saga')).toEqual({
      status: 'pass',
      lastRunAt: '2025-11-23T14:03:00.000Z',
      passedAt: '2025-11-23T14:01:00.000Z',
      hintsShown: 0,
      solutionViewed: false,
    });
  });

  it('counts hints one at a time, before any run, and keeps the count across saves', async () => {
    const { store } = await ProgressStore.open(root);
    expect(store.hintShown('retry')).toBe(1);
    expect(store.hintShown('retry')).toBe(2);
    expect(store.get('retry')).toEqual({ hintsShown: 2, solutionViewed: false });
    await store.save();
    const { store: reopened } = await ProgressStore.open(root);
    expect(reopened.hintShown('retry')).toBe(3);
  });

  it('does not let a caller change the state through what get() returns', async () => {
    const { store } = await ProgressStore.open(root);
    store.record('saga', 'fail');
    const entry = store.get('saga');
    if (entry) entry.hintsShown = 99;
    expect(store.get('saga')?.hintsShown).toBe(0);
  });

  it('finds the first exercise never passed, in the order given', async () => {
    const { store } = await ProgressStore.open(root);
    const order = ['first-span', 'nested-spans', 'retry', 'saga'];
    expect(store.firstUnfinished(order)).toBe('first-span');
    store.record('first-span', 'pass');
    store.record('nested-spans', 'skipped');
    expect(store.firstUnfinished(order)).toBe('nested-spans');
    store.record('nested-spans', 'pass');
    store.record('retry', 'pass');
    store.record('retry', 'error'); // once passed, still done
    expect(store.firstUnfinished(order)).toBe('saga');
    store.record('saga', 'pass');
    expect(store.firstUnfinished(order)).toBeUndefined();
    expect(store.firstUnfinished([])).toBeUndefined();
  });

  it('clears the current exercise', async () => {
    const { store } = await ProgressStore.open(root);
    store.setCurrent('saga');
    store.setCurrent(undefined);
    await store.save();
    expect(JSON.parse(await fs.readFile(progressPath(), 'utf8'))).toEqual({ version: 1, exercises: {} });
  });

  it('does not confuse an exercise id with an Object property', async () => {
    const { store } = await ProgressStore.open(root);
    expect(store.get('constructor')).toBeUndefined();
    expect(store.hintShown('constructor')).toBe(1);
    expect(store.firstUnfinished(['toString'])).toBe('toString');
  });
});

describe('an unreadable progress file', () => {
  async function openAndCheckMovedAside(text: string, reason: string): Promise<void> {
    await writeProgress(text);
    const { store, warning } = await ProgressStore.open(root, steppingClock('2025-11-23T14:51:00.123Z'));
    const movedTo = '.workbook/progress.json.corrupt-2025-11-23T14-51-00.123Z';
    expect(warning).toBe(PROGRESS_MOVED_ASIDE_WARNING(movedTo, reason));
    expect(warning).toContain(reason);
    expect(await fs.readFile(path.join(root, movedTo), 'utf8')).toBe(text);
    await expect(fs.access(progressPath())).rejects.toThrow();
    expect(store.snapshot()).toEqual({ version: 1, exercises: {} });

    // Rebuilt: the next save writes a fresh, valid file beside the one kept aside.
    store.record('first-span', 'fail');
    await store.save();
    const reopened = await ProgressStore.open(root);
    expect(reopened.warning).toBeUndefined();
    expect(reopened.store.get('first-span')?.status).toBe('fail');
    expect((await fs.readdir(path.join(root, '.workbook'))).sort()).toEqual([
      'progress.json',
      'progress.json.corrupt-2025-11-23T14-51-00.123Z',
    ]);
  }

  it('is moved aside with a warning when it is not JSON', async () => {
    const text = '{"version": 1, "exercises": {';
    let parserMessage = '';
    try {
      JSON.parse(text);
    } catch (error) {
      parserMessage = (error as Error).message;
    }
    await openAndCheckMovedAside(text, REASON_NOT_JSON(parserMessage));
  });

  it('is moved aside with a warning when its version is unknown', async () => {
    await openAndCheckMovedAside('{"version": 2, "exercises": {}}\n', REASON_UNKNOWN_VERSION('2'));
    expect(REASON_UNKNOWN_VERSION('2')).toBe('it has version 2; this workbook reads version 1');
  });

  it('is moved aside with a warning when a field is wrong, naming the field', async () => {
    await writeProgress(JSON.stringify({ version: 1, exercises: { saga: { status: 'great', hintsShown: 0, solutionViewed: false } } }));
    const { store, warning } = await ProgressStore.open(root);
    expect(warning).toContain(`(${REASON_BAD_FIELD('exercises.saga.status', '')}`);
    expect(store.snapshot().exercises).toEqual({});
  });

  it('does not overwrite an earlier corrupt copy taken at the same instant', async () => {
    const clock = (): OpenOptions => ({ now: () => new Date('2025-11-23T14:51:00.123Z') });
    await writeProgress('first');
    await ProgressStore.open(root, clock());
    await writeProgress('second');
    const { warning } = await ProgressStore.open(root, clock());
    expect(warning).toContain('.workbook/progress.json.corrupt-2025-11-23T14-51-00.123Z-1');
    const dir = path.join(root, '.workbook');
    expect(await fs.readFile(path.join(dir, 'progress.json.corrupt-2025-11-23T14-51-00.123Z'), 'utf8')).toBe('first');
    expect(await fs.readFile(path.join(dir, 'progress.json.corrupt-2025-11-23T14-51-00.123Z-1'), 'utf8')).toBe('second');
  });

  it('that the system cannot read is an error saying what was being read, not a reset', async () => {
    await fs.mkdir(progressPath(), { recursive: true }); // a folder where the file should be
    const error = await ProgressStore.open(root).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProgressError);
    expect((error as Error).message).toMatch(/^failed to read the progress file \.workbook\/progress\.json: EISDIR/);
  });
});

describe('file system failures', () => {
  it('an unreadable .workbook is an error saying what was being read', async () => {
    await fs.writeFile(path.join(root, '.workbook'), 'a file where the folder should be');
    const error = await ProgressStore.open(root).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProgressError);
    expect((error as Error).message).toMatch(/^failed to read the progress file \.workbook\/progress\.json: ENOTDIR/);
  });

  it('reports a write failure with the file it was writing', async () => {
    const { store } = await ProgressStore.open(root);
    await fs.writeFile(path.join(root, '.workbook'), 'a file where the folder should be');
    store.record('saga', 'pass');
    const error = await store.save().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProgressError);
    expect((error as Error).message).toMatch(/^failed to write the progress file \.workbook\/progress\.json: /);
  });
});
