export { BACKUPS_DIR, backupExercise, type BackupOptions, type ExerciseFiles } from './backup.ts';
export { ProgressError } from './errors.ts';
export { WORKBOOK_DIR } from './files.ts';
export { gitShowHead, resetExercise } from './reset.ts';
export { changedExercises } from './started.ts';
export { solutionDiff, solutionFileDiffs, type ExerciseSolution, type FileDiff } from './solution-diff.ts';
export {
  PROGRESS_FILE,
  PROGRESS_MOVED_ASIDE_WARNING,
  PROGRESS_STATUSES,
  PROGRESS_VERSION,
  REASON_BAD_FIELD,
  REASON_NOT_JSON,
  REASON_UNKNOWN_VERSION,
  ProgressStore,
  parseProgress,
  progressFileSchema,
  serializeProgress,
  type ExerciseProgress,
  type OpenOptions,
  type OpenedProgress,
  type ProgressFile,
  type ProgressStatus,
} from './store.ts';
