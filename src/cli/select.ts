import type { Catalog, Exercise } from '../catalog/index.ts';
import { UsageError } from './args.ts';

/** The exercises named on the command line (ids and tracks), in catalog order; everything when none are named. */
export function selectExercises(catalog: Catalog, ids: readonly string[], tracks: readonly string[]): Exercise[] {
  const chosen = new Set<string>();
  for (const id of ids) {
    const exercise = catalog.byId(id);
    if (!exercise) {
      const close = catalog.suggest(id);
      throw new UsageError(`unknown exercise "${id}".${close.length > 0 ? ` Did you mean: ${close.join(', ')}?` : ''}`);
    }
    chosen.add(exercise.id);
  }
  for (const track of tracks) {
    const inTrack = catalog.inTrack(track);
    if (inTrack.length === 0) {
      throw new UsageError(`unknown track "${track}". Tracks: ${catalog.tracks.map((t) => t.id).join(', ')}`);
    }
    for (const exercise of inTrack) chosen.add(exercise.id);
  }
  if (ids.length === 0 && tracks.length === 0) return [...catalog.exercises];
  return catalog.exercises.filter((e) => chosen.has(e.id));
}

/** Exercises left out of the catalog are named, so a learner knows why one is missing from the list. */
export function leftOutWarning(problems: readonly string[]): string {
  return ['tracecraft: some exercises are left out, their folders have problems:', ...problems.map((p) => `  ${p}`)].join('\n');
}
