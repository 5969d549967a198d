export { buildCatalog } from './catalog.ts';
export { CatalogError } from './errors.ts';
export {
  CHECKER_DIR,
  CHECKER_SUFFIX,
  EXERCISE_FILE,
  EXERCISES_DIR,
  README_FILE,
  SOLUTIONS_DIR,
  TRACK_FILE,
  loadCatalog,
} from './load.ts';
export type { Catalog, Exercise, Track } from './model.ts';
export {
  CATALOG_VERSION,
  DIFFICULTIES,
  SERVER_NAMES,
  exerciseFileSchema,
  trackFileSchema,
  type Difficulty,
  type ExerciseFile,
  type ServerName,
  type TrackFile,
} from './schema.ts';
export { editDistance, suggestClosest } from './suggest.ts';
