import type { Catalog, Exercise, Track } from './model.ts';
import { suggestClosest } from './suggest.ts';

/** Wraps loaded (or hand-made, in tests) tracks and exercises with the catalog's look-ups. */
export function buildCatalog(root: string, tracks: Track[], exercises: Exercise[], problems: string[] = []): Catalog {
  const byId = new Map(exercises.map((exercise) => [exercise.id, exercise]));
  const ids = exercises.map((exercise) => exercise.id);
  return {
    root,
    tracks,
    exercises,
    problems,
    byId: (id) => byId.get(id),
    suggest: (id, max = 3) => suggestClosest(id, ids, max),
    inTrack: (trackId) => exercises.filter((exercise) => exercise.track === trackId),
  };
}
