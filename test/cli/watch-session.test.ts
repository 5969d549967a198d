import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalog, type Catalog } from '../../src/catalog/index.ts';
import { ProgressStore } from '../../src/progress/index.ts';
import { Grader } from '../../src/runner/grader.ts';
import { plain } from '../../src/trace/paint.ts';
import { WatchSession, type ViewExit } from '../../src/cli/watch-session.ts';
import { copyWorkbook } from '../support/workbook.ts';

/** A terminal for the session: keys typed into its input, everything it writes collected. */
class FakeTerminal {
  readonly input = new PassThrough() as unknown as NodeJS.ReadStream;
  readonly output = new PassThrough() as unknown as NodeJS.WriteStream;
  private text = '';
  constructor() {
    (this.output as unknown as PassThrough).on('data', (chunk: Buffer) => (this.text += chunk.toString()));
  }
  get screen(): string {
    return this.text;
  }
  press(key: string): void {
    this.input.write(key);
  }
  async waitFor(text: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.text.includes(text)) {
      if (Date.now() > deadline) throw new Error(`never showed ${JSON.stringify(text)}; the screen shows:\n${this.text}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('a watch session that meets trouble keeps going', () => {
  let workbook: Awaited<ReturnType<typeof copyWorkbook>>;
  let catalog: Catalog;
  beforeEach(async () => {
    workbook = await copyWorkbook();
    catalog = await loadCatalog(workbook.root);
  });
  afterEach(() => workbook.remove());

  async function open(id: string, grader: Grader, progress: ProgressStore, terminal: FakeTerminal): Promise<{ exit: Promise<ViewExit> }> {
    const exercise = catalog.byId(id);
    if (!exercise) throw new Error(`no exercise ${id}`);
    const session = new WatchSession(exercise, { root: workbook.root, catalog, progress, grader, paint: plain, colour: false, input: terminal.input, output: terminal.output });
    return { exit: session.run() };
  }

  it('says in a sentence that the progress could not be saved, shows the verdict anyway, and still answers keys', async () => {
    const { store } = await ProgressStore.open(workbook.root);
    // .workbook becomes a file: every save of progress.json fails, for real.
    await rm(path.join(workbook.root, '.workbook'), { recursive: true, force: true });
    await writeFile(path.join(workbook.root, '.workbook'), 'not a folder');
    const grader = new Grader({ root: workbook.root, target: 'exercises', testTimeoutMs: 3000, isolate: true });
    const terminal = new FakeTerminal();
    try {
      const { exit } = await open('fails', grader, store, terminal);
      await terminal.waitFor('2 + 3: expected -1 to be 5');
      await terminal.waitFor('Could not save your progress: failed to write the progress file .workbook/progress.json');
      terminal.press('h');
      await terminal.waitFor('Hint 1/1: It is a fixture.');
      terminal.press('q');
      expect(await exit).toEqual({ action: 'quit' });
    } finally {
      await grader.close();
    }
  });

  it('keeps the solution for after a pass when the workshop says so, and keeps the banner on screen', async () => {
    const { store } = await ProgressStore.open(workbook.root);
    const grader = new Grader({ root: workbook.root, target: 'exercises', testTimeoutMs: 3000, isolate: true });
    const terminal = new FakeTerminal();
    const exercise = catalog.byId('fails');
    if (!exercise) throw new Error('no exercise fails');
    const session = new WatchSession(exercise, {
      root: workbook.root, catalog, progress: store, grader, paint: plain, colour: false,
      input: terminal.input, output: terminal.output, solutionsBeforePass: false, banner: 'Results go to http://collector.test:4318',
    });
    try {
      const exit = session.run();
      await terminal.waitFor('2 + 3: expected -1 to be 5');
      await terminal.waitFor('Results go to http://collector.test:4318');
      terminal.press('s');
      await terminal.waitFor('This workshop shows the reference solution once the exercise passes.');
      expect(terminal.screen).not.toContain('Press s again');
      terminal.press('q');
      expect(await exit).toEqual({ action: 'quit' });
    } finally {
      await grader.close();
    }
  });

  it('says the grader could not start, and checks again on the next save or c', async () => {
    const { store } = await ProgressStore.open(workbook.root);
    // A grader whose folder does not exist cannot be started: the fork itself fails.
    const broken = new Grader({ root: path.join(workbook.root, 'no-such-folder'), target: 'exercises', testTimeoutMs: 3000, isolate: true });
    const terminal = new FakeTerminal();
    const { exit } = await open('passes', broken, store, terminal);
    await terminal.waitFor('Could not check your code: the grader could not start');
    terminal.press('c');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(terminal.screen.split('Could not check your code').length - 1, 'c tries again, and says so again').toBe(2);
    terminal.press('l');
    expect(await exit).toEqual({ action: 'list' });
  });
});
