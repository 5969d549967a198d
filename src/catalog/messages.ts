// Every problem the catalog loader can report, worded for the author who has to fix it.
// Each line starts with the file (relative to the workbook root) so editors and terminals can jump to it.

export const NO_EXERCISES_FOLDER = (dir: string, reason: string): string =>
  `${dir}/: failed to read the exercises folder: ${reason}`;

export const FAILED_TO_READ_FOLDER = (dir: string, reason: string): string =>
  `${dir}/: failed to read the folder: ${reason}`;

export const MISSING_FILE = (file: string, why: string): string => `${file}: missing (${why})`;
export const WHY_TRACK_JSON = 'every track folder needs a track.json';
export const WHY_EXERCISE_JSON = 'every exercise folder needs an exercise.json';
export const WHY_README = 'every exercise needs its instructions in README.md';
export const WHY_CHECKER = (id: string): string => `the checks for exercise "${id}"`;

export const FAILED_TO_READ = (file: string, reason: string): string =>
  `${file}: failed to read: ${reason}`;

export const INVALID_JSON = (file: string, reason: string): string => `${file}: invalid JSON: ${reason}`;

export const NOT_AN_OBJECT = (file: string, got: string): string =>
  `${file}: must contain a JSON object (got ${got})`;

export const UNKNOWN_FIELD = (file: string, field: string): string => `${file}: unknown field "${field}"`;

export const BAD_FIELD = (file: string, field: string, rule: string, got: string): string =>
  `${file}: "${field}" ${rule} (${got})`;

export const ID_NOT_FOLDER_NAME = (file: string, folderSlug: string, id: string): string =>
  `${file}: "id" must match the folder name "${folderSlug}" (got "${id}")`;

export const TRACK_MISMATCH = (file: string, trackFile: string, trackId: string, got: string): string =>
  `${file}: "track" must be "${trackId}", the id in ${trackFile} (got "${got}")`;

export const LISTED_FILE_MISSING = (file: string, listed: string, missing: string): string =>
  `${file}: "files" lists "${listed}" but ${missing} does not exist`;

export const DUPLICATE_TRACK_ID = (file: string, id: string, firstDir: string): string =>
  `${file}: "id" "${id}" is already used by the track in ${firstDir}/`;

export const DUPLICATE_EXERCISE_ID = (file: string, id: string, firstDir: string): string =>
  `${file}: "id" "${id}" is already used by the exercise in ${firstDir}/`;
