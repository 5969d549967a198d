import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Catalog, Exercise } from '../catalog/index.ts';
import { resetExercise, solutionDiff, type ProgressStore } from '../progress/index.ts';
import type { Grader } from '../runner/grader.ts';
import { exerciseResult, withTypecheck } from '../runner/grade.ts';
import { typecheckExercise } from '../runner/typecheck.ts';
import type { ExerciseResult } from '../runner/results.ts';
import { watchFiles } from '../runner/watch.ts';
import type { Paint } from '../trace/paint.ts';
import { listenForKeys } from './keys.ts';
import { renderMarkdown } from './markdown.ts';
import { formatDetails, stars } from './report.ts';
import { resolveFor } from './servers.ts';

export type ViewExit = { action: 'list' } | { action: 'quit' } | { action: 'open'; exercise: Exercise };

export const VIEW_MESSAGES = {
  keys: '[h] hint  [s] solution diff  [r] reset  [i] instructions  [l] list  [q] quit',
  keysPassed: '[n] next exercise  [s] solution diff  [h] hint  [r] reset  [i] instructions  [l] list  [q] quit',
  checking: 'checking…',
  watching: (files: string[]) => `Watching ${files.join(', ')}: save a file to check it again.`,
  passed: '✓ All checks pass. Press n for the next exercise, or s to compare with the reference solution.',
  lastExercise: 'That was the last exercise of the workbook. Well done! Press l for the list or q to quit.',
  notYet: 'n moves on once every check passes. Press l for the list to pick another exercise.',
  noMoreHints: 'No more hints: press s to see the reference solution as a diff.',
  confirmSolution: 'This exercise does not pass yet. Press s again to see the reference solution anyway, any other key to keep trying.',
  confirmReset: (id: string) => `Reset ${id} to its starter? Your current files are copied to .workbook/backups/ first. Press y to reset, any other key to cancel.`,
  resetDone: (backup: string) => `Reset. Your previous files are in ${backup}`,
  resetFailed: (message: string) => `Could not reset: ${message}`,
} as const;

export interface ViewContext {
  root: string;
  catalog: Catalog;
  progress: ProgressStore;
  grader: Grader;
  paint: Paint;
  colour: boolean;
}

/**
 * One open exercise: its instructions, a check on every save, and the keys.
 * Resolves when the learner leaves it (list, next exercise or quit).
 */
export function openExercise(exercise: Exercise, ctx: ViewContext): Promise<ViewExit> {
  const { paint: p, progress, grader } = ctx;
  const files = exercise.files.map((f) => path.join(exercise.dir, f));
  let last: ExerciseResult | undefined;
  let running = false;
  let rerun = false;
  let confirming: 'solution' | 'reset' | undefined;
  let closed = false;

  const header = (): string =>
    `${p.bold(exercise.title)} ${p.dim(`(${exercise.id} · ${exercise.trackTitle} · ${stars(exercise.difficulty)})`)}\n${p.dim(
      last?.status === 'pass' ? VIEW_MESSAGES.keysPassed : VIEW_MESSAGES.keys,
    )}`;
  const say = (text: string): void => {
    process.stdout.write(`${text}\n`);
  };
  const clear = (): void => {
    if (process.stdout.isTTY) process.stdout.write('\u001b[2J\u001b[3J\u001b[H');
  };

  const showInstructions = async (): Promise<void> => {
    clear();
    const readme = await readFile(exercise.readmeFile, 'utf8').catch(() => `(no README at ${exercise.readmeFile})`);
    say(renderMarkdown(readme, ctx.colour));
    say('');
    say(header());
    say(p.dim(VIEW_MESSAGES.watching(exercise.files)));
  };

  // Servers are found once, when the exercise opens, and stopped when it closes.
  const servers = resolveFor([exercise]);
  // The first verdict goes under the instructions; later ones replace the screen, as in rustlings.
  let firstCheck = true;
  const check = async (changed: string[]): Promise<void> => {
    if (running) {
      rerun = true;
      return;
    }
    running = true;
    try {
      if (changed.length > 0) grader.invalidate(changed);
      const { skipped, env } = await servers;
      const skip = skipped.get(exercise.id);
      const result: ExerciseResult =
        skip !== undefined
          ? { id: exercise.id, track: exercise.track, status: 'skipped', message: skip, tests: [] }
          : await Promise.all([grader.run([exercise.checkerFile], env), typecheckExercise(ctx.root, exercise)]).then(([outcome, types]) =>
              withTypecheck(exerciseResult(exercise, outcome.results.get(path.resolve(exercise.checkerFile)), outcome.unhandled), types),
            );
      if (closed) return;
      const firstPass = result.status === 'pass' && progress.get(exercise.id)?.status !== 'pass';
      last = result;
      progress.record(exercise.id, result.status);
      await progress.save();
      if (firstCheck) say('');
      else {
        clear();
        say(header());
      }
      firstCheck = false;
      say(`${p.dim(`checked at ${new Date().toLocaleTimeString()}`)}\n`);
      say(formatDetails(exercise, result, p, { alwaysTrace: true }));
      if (result.status === 'pass') say(p.green(firstPass ? `🎉 ${VIEW_MESSAGES.passed}` : VIEW_MESSAGES.passed));
      else say(p.dim(VIEW_MESSAGES.watching(exercise.files)));
    } finally {
      running = false;
      if (rerun && !closed) {
        rerun = false;
        void check(files);
      }
    }
  };

  return new Promise<ViewExit>((resolve) => {
    const leave = (exit: ViewExit): void => {
      closed = true;
      watcher.close();
      keys.stop();
      void servers.then((s) => s.stop()).catch(() => undefined);
      resolve(exit);
    };
    const watcher = watchFiles(exercise.dir, exercise.files, (changed) => void check(changed));
    const keys = listenForKeys((key) => {
      const wasConfirming = confirming;
      confirming = undefined;
      if (wasConfirming === 'reset') {
        if (key === 'y') {
          resetExercise(ctx.root, exercise)
            .then((backup) => say(p.green(VIEW_MESSAGES.resetDone(path.relative(ctx.root, backup)))))
            .catch((error: unknown) => say(p.red(VIEW_MESSAGES.resetFailed(error instanceof Error ? error.message : String(error)))));
        }
        return;
      }
      switch (key) {
        case 'q':
          return leave({ action: 'quit' });
        case 'l':
          return leave({ action: 'list' });
        case 'i':
          void showInstructions();
          return;
        case 'n': {
          if (last?.status !== 'pass') return say(p.yellow(VIEW_MESSAGES.notYet));
          const index = ctx.catalog.exercises.findIndex((e) => e.id === exercise.id);
          const next = ctx.catalog.exercises[index + 1];
          if (!next) return say(p.green(VIEW_MESSAGES.lastExercise));
          return leave({ action: 'open', exercise: next });
        }
        case 'h': {
          const shown = progress.get(exercise.id)?.hintsShown ?? 0;
          if (shown >= exercise.hints.length) return say(p.dim(VIEW_MESSAGES.noMoreHints));
          progress.hintShown(exercise.id);
          void progress.save();
          exercise.hints.slice(0, shown + 1).forEach((hint, i) => say(`${p.cyan(`Hint ${i + 1}/${exercise.hints.length}:`)} ${hint}`));
          return;
        }
        case 's': {
          if (last?.status !== 'pass' && wasConfirming !== 'solution') {
            confirming = 'solution';
            return say(p.yellow(VIEW_MESSAGES.confirmSolution));
          }
          progress.solutionViewed(exercise.id);
          void progress.save();
          solutionDiff(exercise)
            .then((diff) => say(colourDiff(diff, p)))
            .catch((error: unknown) => say(p.red(String(error))));
          return;
        }
        case 'r':
          confirming = 'reset';
          return say(p.yellow(VIEW_MESSAGES.confirmReset(exercise.id)));
        default:
          return;
      }
    });
    progress.setCurrent(exercise.id);
    void progress.save();
    void showInstructions().then(() => check([]));
  });
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
