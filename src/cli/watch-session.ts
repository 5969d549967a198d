/**
 * One open exercise in `learn`: its instructions, a check on every save, and the keys. A session
 * has one handler per action, one error path (a failed save, a grader that will not start, a
 * reset that cannot read git: each is a sentence on the screen, and the session goes on) and
 * restores the terminal whatever happens. It grades through the same path as `check` (gradeWith).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Catalog, Exercise } from '../catalog/index.ts';
import { resetExercise, solutionDiff, type ProgressStore } from '../progress/index.ts';
import type { Grader } from '../runner/grader.ts';
import { gradeWith } from '../runner/grade.ts';
import type { ExerciseResult } from '../runner/results.ts';
import { watchFiles, type FileWatch } from '../runner/watch.ts';
import type { Paint } from '../trace/paint.ts';
import { listenForKeys, type KeyName } from './keys.ts';
import { outputWidth } from './layout.ts';
import { renderMarkdown } from './markdown.ts';
import { formatDetails, stars } from './report.ts';
import { resolveFor, type ServerSetup } from './servers.ts';
import { fileLink } from './terminal.ts';
import { learnViewer, openInBrowser, type LiveViewer } from '../viewer/live.ts';

export type ViewExit = { action: 'list' } | { action: 'quit' } | { action: 'open'; exercise: Exercise };

export const VIEW_MESSAGES = {
  keys: '[h] hint  [c] check now  [t] all traces  [v] viewer  [s] solution diff  [r] reset  [i] instructions  [l] list  [q] quit',
  keysPassed: '[n] next exercise  [s] solution diff  [h] hint  [c] check now  [t] all traces  [v] viewer  [r] reset  [i] instructions  [l] list  [q] quit',
  checking: 'checking…',
  checkedAt: (time: string) => `checked at ${time}`,
  watching: (files: string) => `Watching ${files}: save a file to check it again (or press c).`,
  passed: '✓ All checks pass. Press n for the next unfinished exercise, or s to compare with the reference solution.',
  allDone: 'Every exercise of the workbook passes. Well done! Press l for the list or q to quit.',
  notYet: 'n moves on once every check passes. Press l for the list to pick another exercise.',
  noMoreHints: 'No more hints: press s to see the reference solution as a diff.',
  hint: (n: number, of: number) => `Hint ${n}/${of}:`,
  solutionAfterPass: 'This workshop shows the reference solution once the exercise passes. Press h for a hint.',
  confirmSolution: 'This exercise does not pass yet. Press s again to see the reference solution anyway, any other key to keep trying.',
  confirmReset: (id: string) => `Reset ${id} to its starter? Your current files are copied to .workbook/backups/ first. Press y to reset, any other key to cancel.`,
  resetDone: (backup: string) => `Reset. Your previous files are in ${backup}`,
  noTraces: 'This run recorded no traces.',
  failed: (action: string, reason: string) => `Could not ${action}: ${reason}`,
  moreTraces: 'press t to draw them',
  viewerAt: (url: string) => `Trace viewer: ${url}  (open it in a browser: it shows every check and both waterfalls, and follows every save)`,
  viewerOpened: 'Opened it in your browser.',
  viewerLine: (url: string) => `viewer: ${url}`,
} as const;

export interface ViewContext {
  root: string;
  catalog: Catalog;
  progress: ProgressStore;
  grader: Grader;
  paint: Paint;
  colour: boolean;
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
  /** A workshop that shows the reference solution only after a pass (workshop.json `solutionsBeforePass: false`). */
  solutionsBeforePass?: boolean;
  /** A line kept under the key bar on every screen (where results are exported, and how to stop it). */
  banner?: string;
  /** Told of every graded run (the workshop export, the trace viewer); a listener that throws is reported, not fatal. */
  onGraded?: readonly ((exercise: Exercise, result: ExerciseResult) => unknown)[];
  /** The trace viewer the v key opens; by default the one of this process, shared by every exercise. */
  viewer?: LiveViewer;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class WatchSession {
  private readonly input: NodeJS.ReadStream;
  private readonly output: NodeJS.WriteStream;
  private readonly files: string[];
  private last: ExerciseResult | undefined;
  /** The key that must come next to confirm an action, if one was asked for. */
  private confirming: 'solution' | 'reset' | undefined;
  private checking: Promise<void> | undefined;
  private recheckQueued = false;
  private allTraces = false;
  private closed = false;
  private firstCheck = true;
  private servers: Promise<ServerSetup> | undefined;
  private exit: ((exit: ViewExit) => void) | undefined;
  private readonly handlers: Record<string, () => unknown>;
  private readonly viewer: LiveViewer;

  constructor(
    private readonly exercise: Exercise,
    private readonly ctx: ViewContext,
  ) {
    this.input = ctx.input ?? process.stdin;
    this.output = ctx.output ?? process.stdout;
    this.files = exercise.files.map((f) => path.join(exercise.dir, f));
    this.viewer = ctx.viewer ?? learnViewer();
    this.handlers = {
      quit: () => this.leave({ action: 'quit' }),
      q: () => this.leave({ action: 'quit' }),
      l: () => this.leave({ action: 'list' }),
      n: () => this.next(),
      h: () => this.hint(),
      s: () => this.solution(),
      r: () => this.askReset(),
      i: () => this.instructions(),
      c: () => this.check([]),
      enter: () => this.check([]),
      t: () => this.traces(),
      v: () => this.openViewer(),
    };
  }

  /** Opens the exercise and resolves when the learner leaves it (list, next exercise or quit). */
  async run(): Promise<ViewExit> {
    let watcher: FileWatch | undefined;
    let keys: { stop(): void } | undefined;
    const onResize = (): void => this.redraw();
    try {
      const left = new Promise<ViewExit>((resolve) => (this.exit = resolve));
      this.servers = resolveFor([this.exercise]);
      this.viewer.open(this.exercise);
      watcher = watchFiles(this.exercise.dir, this.exercise.files, (changed) => void this.check(changed));
      keys = listenForKeys((key) => this.onKey(key), this.input, this.output);
      this.output.on('resize', onResize);
      this.ctx.progress.setCurrent(this.exercise.id);
      this.ctx.progress.markOpened(this.exercise.id);
      void this.attempt('save your progress', () => this.ctx.progress.save());
      await this.attempt('show the instructions', () => this.instructions());
      void this.servers.then((found) => found.warnings.forEach((w) => this.say(this.ctx.paint.yellow(w)))).catch(() => undefined);
      void this.check([]);
      return await left;
    } finally {
      this.closed = true;
      watcher?.close();
      keys?.stop();
      this.output.off('resize', onResize);
      await this.servers?.then((s) => s.stop()).catch(() => undefined);
    }
  }

  // ------------------------------------------------------------------------------------------
  // The one error path: every action that can fail says so in a sentence, and the session goes on.

  private async attempt(action: string, run: () => unknown): Promise<void> {
    try {
      await run();
    } catch (error) {
      this.say(this.ctx.paint.red(VIEW_MESSAGES.failed(action, reasonOf(error))));
    }
  }

  private onKey(key: KeyName): void {
    const confirming = this.confirming;
    this.confirming = undefined;
    if (confirming === 'reset') {
      if (key === 'y') void this.attempt('reset the exercise', () => this.reset());
      return;
    }
    if (confirming === 'solution' && key === 's') {
      void this.attempt('show the solution', () => this.showSolution());
      return;
    }
    const handler = this.handlers[key];
    if (handler) void this.attempt(`do that (${key})`, handler);
  }

  // ------------------------------------------------------------------------------------------
  // Actions, one per key.

  private leave(exit: ViewExit): void {
    this.closed = true;
    this.exit?.(exit);
  }

  private next(): void {
    const { catalog, progress, paint: p } = this.ctx;
    if (this.last?.status !== 'pass') return this.say(p.yellow(VIEW_MESSAGES.notYet));
    const id = progress.nextUnfinished(catalog.exercises.map((e) => e.id), this.exercise.id);
    const next = id === undefined ? undefined : catalog.byId(id);
    if (!next) return this.say(p.green(VIEW_MESSAGES.allDone));
    this.leave({ action: 'open', exercise: next });
  }

  private async hint(): Promise<void> {
    const { progress, paint: p } = this.ctx;
    const { hints, id } = this.exercise;
    const shown = progress.get(id)?.hintsShown ?? 0;
    if (shown >= hints.length) return this.say(p.dim(VIEW_MESSAGES.noMoreHints));
    progress.hintShown(id);
    hints.slice(0, shown + 1).forEach((hint, i) => this.say(`${p.cyan(VIEW_MESSAGES.hint(i + 1, hints.length))} ${hint}`));
    await progress.save();
  }

  private async solution(): Promise<void> {
    if (this.last?.status !== 'pass' && this.ctx.solutionsBeforePass === false && !this.ctx.progress.isDone(this.exercise.id)) {
      return this.say(this.ctx.paint.yellow(VIEW_MESSAGES.solutionAfterPass));
    }
    if (this.last?.status !== 'pass') {
      this.confirming = 'solution';
      return this.say(this.ctx.paint.yellow(VIEW_MESSAGES.confirmSolution));
    }
    await this.showSolution();
  }

  private async showSolution(): Promise<void> {
    const diff = await solutionDiff(this.exercise);
    this.say(colourDiff(diff, this.ctx.paint));
    this.ctx.progress.solutionViewed(this.exercise.id);
    await this.ctx.progress.save();
  }

  private askReset(): void {
    this.confirming = 'reset';
    this.say(this.ctx.paint.yellow(VIEW_MESSAGES.confirmReset(this.exercise.id)));
  }

  private async reset(): Promise<void> {
    const backup = await resetExercise(this.ctx.root, this.exercise);
    this.say(this.ctx.paint.green(VIEW_MESSAGES.resetDone(path.relative(this.ctx.root, backup))));
  }

  private async instructions(): Promise<void> {
    this.clear();
    const readme = await readFile(this.exercise.readmeFile, 'utf8').catch(() => `(no README at ${this.exercise.readmeFile})`);
    this.say(renderMarkdown(readme, this.ctx.colour, this.width()));
    this.say('');
    this.say(this.header());
    this.say(this.ctx.paint.dim(VIEW_MESSAGES.watching(this.watchedFiles())));
    this.say(this.ctx.paint.dim(this.keyBar()));
  }

  private traces(): void {
    if (!this.last) return;
    if (!this.last.tests.some((t) => (t.traces?.length ?? 0) > 0)) return this.say(this.ctx.paint.dim(VIEW_MESSAGES.noTraces));
    this.allTraces = true;
    this.redraw();
  }

  /** Starts the viewer the first time (later presses say where it is again), and opens a browser where that is reliable. */
  private async openViewer(): Promise<void> {
    const first = this.viewer.url === undefined;
    const url = await this.viewer.start();
    this.say(this.ctx.paint.cyan(VIEW_MESSAGES.viewerAt(url)));
    if (first && openInBrowser(url)) this.say(this.ctx.paint.dim(VIEW_MESSAGES.viewerOpened));
  }

  // ------------------------------------------------------------------------------------------
  // Grading: one run at a time; saves during a run queue one more run.

  private check(changed: string[]): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (changed.length > 0) this.ctx.grader.invalidate(changed);
    if (this.checking) {
      this.recheckQueued = true;
      return this.checking;
    }
    this.viewer.checkStarted();
    this.checking = this.attempt('check your code', () => this.grade()).finally(() => {
      this.checking = undefined;
      this.viewer.checkFinished();
      if (this.recheckQueued && !this.closed) {
        this.recheckQueued = false;
        void this.check(this.files);
      }
    });
    return this.checking;
  }

  private async grade(): Promise<void> {
    const { progress } = this.ctx;
    const { skipped, required, env } = (await this.servers) ?? { skipped: new Map<string, string>(), required: new Map<string, string>(), env: {} };
    const [result] = await gradeWith(this.ctx.grader, [this.exercise], { root: this.ctx.root, skipped, unavailable: required, env, typecheck: true });
    if (this.closed || !result) return;
    const firstPass = result.status === 'pass' && progress.get(this.exercise.id)?.status !== 'pass';
    this.last = result;
    this.allTraces = false;
    progress.record(this.exercise.id, result.status);
    this.viewer.graded(this.exercise, result);
    this.showResult(firstPass);
    for (const listener of this.ctx.onGraded ?? []) void this.attempt('pass the result on', () => listener(this.exercise, result));
    await this.attempt('save your progress', () => progress.save());
  }

  private showResult(firstPass = false): void {
    const result = this.last;
    if (!result) return;
    const p = this.ctx.paint;
    // The first verdict goes under the instructions; later ones replace the screen, as in rustlings.
    if (this.firstCheck) this.say('');
    else {
      this.clear();
      this.say(this.header());
    }
    this.firstCheck = false;
    this.say(`${p.dim(VIEW_MESSAGES.checkedAt(new Date().toLocaleTimeString()))}\n`);
    this.say(formatDetails(this.exercise, result, p, { alwaysTrace: true, width: this.width(), allTraces: this.allTraces, moreTraces: VIEW_MESSAGES.moreTraces }));
    if (result.status === 'pass') this.say(p.green(firstPass ? `🎉 ${VIEW_MESSAGES.passed}` : VIEW_MESSAGES.passed));
    else this.say(p.dim(VIEW_MESSAGES.watching(this.watchedFiles())));
    // The keys last, for the state just shown: after a pass they offer n.
    this.say(p.dim(this.keyBar()));
  }

  /** The last verdict drawn again for the terminal as it is now (after a resize, or to show every trace). */
  private redraw(): void {
    if (this.closed || !this.last) return;
    this.firstCheck = false;
    this.showResult();
  }

  // ------------------------------------------------------------------------------------------
  // The screen.

  private header(): string {
    const p = this.ctx.paint;
    const { title, id, trackTitle, difficulty } = this.exercise;
    return `${p.bold(title)} ${p.dim(`(${id} · ${trackTitle} · ${stars(difficulty)})`)}`;
  }

  private keyBar(): string {
    const keys = this.last?.status === 'pass' ? VIEW_MESSAGES.keysPassed : VIEW_MESSAGES.keys;
    // The screen is redrawn on every save: the viewer's address stays on it once it is open.
    const lines = [keys, ...(this.viewer.url === undefined ? [] : [VIEW_MESSAGES.viewerLine(this.viewer.url)]), ...(this.ctx.banner ? [this.ctx.banner] : [])];
    return lines.join('\n');
  }

  /** The learner's files, as links a terminal can open. */
  private watchedFiles(): string {
    return this.files.map((file) => fileLink(path.relative(this.ctx.root, file), file, this.output)).join(', ');
  }

  private width(): number {
    return outputWidth(this.output);
  }

  private say(text: string): void {
    this.output.write(`${text}\n`);
  }

  private clear(): void {
    if (this.output.isTTY) this.output.write('\u001b[2J\u001b[3J\u001b[H');
  }
}

function colourDiff(diff: string, p: Paint): string {
  return diff
    .split('\n')
    .map((line) => {
      if (line.startsWith('+++') || line.startsWith('---')) return p.bold(line);
      if (line.startsWith('+')) return p.green(line);
      if (line.startsWith('-')) return p.red(line);
      if (line.startsWith('@@')) return p.cyan(line);
      return line;
    })
    .join('\n');
}
