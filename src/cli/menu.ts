import { select, Separator } from '@inquirer/prompts';
import type { Catalog, Exercise } from '../catalog/index.ts';
import type { ProgressStore } from '../progress/index.ts';
import type { Paint } from '../trace/paint.ts';
import { padEnd } from '../trace/paint.ts';
import { stars } from './report.ts';

const QUIT = Symbol('quit');

export const MENU_TEXT = {
  legend: '✓ passes  ✗ fails  ! does not run  - skipped (a server is missing)  · not started',
} as const;

/**
 * The mark for an exercise: its last verdict, once the learner has started it (opened it in learn,
 * or edited its files). A `check` of every untouched starter fails them all, but they are not started.
 */
function statusMark(status: string | undefined, started: boolean, p: Paint): string {
  if (status === 'pass') return p.green('✓');
  if (!started) return p.dim('·');
  if (status === 'fail') return p.red('✗');
  if (status === 'error') return p.yellow('!');
  if (status === 'skipped') return p.dim('-');
  return p.dim('·');
}

/** The exercises in order, cut where the track changes: a workshop may come back to a track later. */
function trackRuns(catalog: Catalog): { title: string; exercises: Exercise[] }[] {
  const runs: { title: string; exercises: Exercise[] }[] = [];
  for (const exercise of catalog.exercises) {
    const last = runs[runs.length - 1];
    if (last && last.exercises[0]?.track === exercise.track) last.exercises.push(exercise);
    else runs.push({ title: exercise.trackTitle, exercises: [exercise] });
  }
  return runs;
}

/**
 * The list of tracks and exercises with their status; resolves to the chosen exercise, or undefined
 * to quit. `title` names the workshop whose exercises the catalog holds, if one does.
 */
export async function pickExercise(
  catalog: Catalog,
  progress: ProgressStore,
  p: Paint,
  changed: ReadonlySet<string> = new Set(),
  title?: string,
): Promise<Exercise | undefined> {
  const ids = catalog.exercises.map((e) => e.id);
  const start = progress.firstUnfinished(ids) ?? ids[0];
  const done = catalog.exercises.filter((e) => progress.get(e.id)?.status === 'pass').length;
  const idWidth = Math.max(...ids.map((id) => id.length)) + 2;
  const choices: (Separator | { name: string; value: Exercise | typeof QUIT; description?: string })[] = [];
  for (const run of trackRuns(catalog)) {
    const passed = run.exercises.filter((e) => progress.get(e.id)?.status === 'pass').length;
    choices.push(new Separator(p.bold(`${run.title} (${passed}/${run.exercises.length})`)));
    for (const exercise of run.exercises) {
      const entry = progress.get(exercise.id);
      const mark = statusMark(entry?.status, entry?.opened === true || changed.has(exercise.id), p);
      choices.push({
        name: `${mark} ${padEnd(exercise.id, idWidth)}${padEnd(stars(exercise.difficulty), 5)} ${exercise.title}`,
        value: exercise,
        description: exercise.summary,
      });
    }
  }
  choices.push(new Separator(' '), new Separator(p.dim(MENU_TEXT.legend)), { name: 'Quit', value: QUIT });
  const chosen = await select<Exercise | typeof QUIT>({
    message: `tracecraft — ${title === undefined ? '' : `${title} — `}${done}/${ids.length} exercises done. Pick one (↑↓, enter):`,
    choices,
    default: catalog.byId(start ?? ''),
    pageSize: Math.max(10, Math.min(30, (process.stdout.rows ?? 24) - 4)),
    loop: false,
  });
  return chosen === QUIT ? undefined : chosen;
}
