import path from 'node:path';
import { z } from 'zod';

/*
 * The catalog format: what an author writes, validated here when the catalog loads.
 *
 * exercises/<NN-track>/track.json
 *   { "version": 1, "id": "foundations", "title": "Foundations", "summary": "…" }
 *   id: the folder name without its number.
 *
 * exercises/<NN-track>/<NN-slug>/exercise.json
 *   { "version": 1, "id": "first-span", "title": "…", "track": "foundations", "difficulty": 1,
 *     "summary": "…", "files": ["word-count.ts"], "hints": ["…", "…"], "servers": [] }
 *   id: the folder name without its number. track: the id in the folder's track.json.
 *   difficulty: 1 to 4. files: the files the learner edits, relative to the exercise folder, each
 *   mirrored in solutions/<NN-track>/<NN-slug>/. hints: revealed one at a time, at least one.
 *   servers: what the checks need running (see SERVER_NAMES). Unknown fields are rejected.
 *
 * Beside them: README.md (the instructions) in the exercise folder, and the checks in
 * checker/<NN-track>/<NN-slug>.test.ts. Numbers in folder names only order tracks and exercises.
 */

/** The catalog format this workbook reads. Bump it (and migrate the files) when the format changes. */
export const CATALOG_VERSION = 1;

/** The servers an exercise may ask for; src/services knows how to find or start each one. */
export const SERVER_NAMES = ['postgres', 'redis', 'rabbitmq', 'nats', 'mariadb', 'mosquitto'] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

export const DIFFICULTIES = [1, 2, 3, 4] as const;
export type Difficulty = (typeof DIFFICULTIES)[number];

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** What each field must be, worded for an author reading `<file>: "<field>" <rule> (got …)`. */
export const RULES = {
  version: `must be ${CATALOG_VERSION}, the catalog format this workbook reads`,
  slug: 'must be a slug: lowercase letters and digits separated by single hyphens',
  text: 'must be a non-empty string',
  difficulty: 'must be a number from 1 to 4',
  files: 'must be a non-empty list of the source files the learner edits',
  file: 'must be a relative path inside the exercise folder (no "..", not absolute)',
  hints: 'must be a list of at least one hint',
  servers: 'must be a list of server names',
  server: `must be one of ${SERVER_NAMES.join(', ')}`,
} as const;

/** True for `a.ts` or `lib/a.ts`; false for `/a.ts`, `C:\a.ts`, `../a.ts`, `lib/../../a.ts` and `''`. */
export function isInsideRelativePath(file: string): boolean {
  if (file.trim() === '') return false;
  if (path.posix.isAbsolute(file) || path.win32.isAbsolute(file)) return false;
  return !file.split(/[\\/]/).includes('..');
}

const version = z.literal(CATALOG_VERSION, { error: RULES.version });
const slug = z.string({ error: RULES.slug }).regex(SLUG, { error: RULES.slug });
const text = z.string({ error: RULES.text }).trim().min(1, { error: RULES.text });

/** `exercises/<NN-track>/track.json` */
export const trackFileSchema = z.strictObject({
  version,
  id: slug,
  title: text,
  summary: text,
});
export type TrackFile = z.infer<typeof trackFileSchema>;

/** `exercises/<NN-track>/<NN-slug>/exercise.json` */
export const exerciseFileSchema = z.strictObject({
  version,
  id: slug,
  title: text,
  track: slug,
  difficulty: z.literal(DIFFICULTIES, { error: RULES.difficulty }),
  summary: text,
  files: z
    .array(
      z.string({ error: RULES.file }).refine(isInsideRelativePath, { error: RULES.file }),
      { error: RULES.files },
    )
    .min(1, { error: RULES.files }),
  hints: z.array(text, { error: RULES.hints }).min(1, { error: RULES.hints }),
  servers: z.array(z.enum(SERVER_NAMES, { error: RULES.server }), { error: RULES.servers }),
});
export type ExerciseFile = z.infer<typeof exerciseFileSchema>;
