/*
 * Named wrong solutions: the mistakes a learner really makes, kept beside each exercise so the
 * project can prove its checker catches every one of them.
 *
 * wrong/<NN-track>/<NN-slug>/wrong.json
 *   { "version": 1,
 *     "wrong": [{ "name": "ends-span-only-on-success", "kind": "trace",
 *                 "mistake": "ends the span only when the call succeeds",
 *                 "breaks": "end the span" }] }
 *   name: a slug, and the folder beside wrong.json that holds the wrong files.
 *   kind: what the mistake gets wrong: "behaviour" (the pattern) or "trace" (the telemetry).
 *   mistake: one sentence, what the learner did.
 *   breaks: the rule it breaks, quoted from the exercise's README (it must be found there).
 *
 * wrong/<NN-track>/<NN-slug>/<name>/<file>   the files that differ from the solution, each one of
 *   the exercise's "files"; every other file is the solution's.
 *
 * Loaded only by the author's tools and the project's tests, never on a learner's check.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { formatIssues } from './issues.ts';
import type { Exercise } from './model.ts';
import { CATALOG_VERSION } from './schema.ts';
import { CatalogError } from './errors.ts';

export const WRONG_DIR = 'wrong';
export const WRONG_FILE = 'wrong.json';
export const WRONG_KINDS = ['behaviour', 'trace'] as const;
export type WrongKind = (typeof WRONG_KINDS)[number];

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export const WRONG_RULES = {
  version: `must be ${CATALOG_VERSION}, the catalog format this workbook reads`,
  name: 'must be a slug: lowercase letters and digits separated by single hyphens',
  kind: `must be one of ${WRONG_KINDS.join(', ')}`,
  text: 'must be a non-empty string',
  list: 'must be a list of wrong solutions',
} as const;

const text = z.string({ error: WRONG_RULES.text }).trim().min(1, { error: WRONG_RULES.text });

export const wrongFileSchema = z.strictObject({
  version: z.literal(CATALOG_VERSION, { error: WRONG_RULES.version }),
  wrong: z.array(
    z.strictObject({
      name: z.string({ error: WRONG_RULES.name }).regex(SLUG, { error: WRONG_RULES.name }),
      kind: z.enum(WRONG_KINDS, { error: WRONG_RULES.kind }),
      mistake: text,
      breaks: text,
    }),
    { error: WRONG_RULES.list },
  ),
});

export interface WrongSolution {
  exerciseId: string;
  name: string;
  kind: WrongKind;
  mistake: string;
  /** The README's rule it breaks. */
  breaks: string;
  /** Absolute folder holding the wrong files. */
  dir: string;
  /** The wrong files, relative to `dir` (each one of the exercise's files). */
  files: string[];
}

export const WRONG_MESSAGES = {
  nameTaken: (file: string, name: string) => `${file}: the wrong solution "${name}" is listed twice`,
  noFolder: (file: string, name: string, dir: string) => `${file}: "${name}" has no folder ${dir}/ with its wrong files`,
  emptyFolder: (dir: string) => `${dir}/: holds none of the exercise's files, so it is the solution itself`,
  notAnExerciseFile: (file: string, files: readonly string[]) =>
    `${file}: is not one of the exercise's files (${files.join(', ')}); a wrong solution only changes the files the learner edits`,
  notListed: (dir: string, file: string) => `${dir}/: a folder of wrong files that ${file} does not list`,
  notInReadme: (file: string, name: string, readme: string) =>
    `${file}: "breaks" of "${name}" must quote a rule of ${readme}, but that text is not in it`,
} as const;

/** Whitespace, emphasis and code marks do not count when a rule is looked up in the README. */
export function normalizeRule(text: string): string {
  return text.replace(/[`*_]/g, '').replace(/\s+/g, ' ').trim().toLowerCase();
}

async function listFiles(dir: string, relative = ''): Promise<string[]> {
  const entries = await fs.readdir(path.join(dir, relative), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await listFiles(dir, child)));
    else files.push(child);
  }
  return files;
}

/** The folder of an exercise's wrong solutions: `wrong/<relDir>`. */
export function wrongDir(root: string, exercise: Exercise): string {
  return path.join(root, WRONG_DIR, exercise.relDir);
}

/**
 * Reads and checks the named wrong solutions of one exercise; an exercise without a wrong/ folder
 * has none. Throws a CatalogError listing every problem, each naming its file.
 */
export async function loadWrongSolutions(root: string, exercise: Exercise): Promise<WrongSolution[]> {
  const dir = wrongDir(root, exercise);
  const rel = (abs: string): string => path.relative(root, abs).split(path.sep).join('/');
  const file = path.join(dir, WRONG_FILE);
  let raw: string;
  try {
    raw = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CatalogError([`${rel(file)}: failed to read: ${(error as Error).message}`]);
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (error) {
    throw new CatalogError([`${rel(file)}: invalid JSON: ${(error as Error).message}`]);
  }
  const parsed = wrongFileSchema.safeParse(data);
  if (!parsed.success) throw new CatalogError(formatIssues(rel(file), parsed.error.issues, data));

  const problems: string[] = [];
  const readme = normalizeRule(await fs.readFile(exercise.readmeFile, 'utf8').catch(() => ''));
  const seen = new Set<string>();
  const solutions: WrongSolution[] = [];
  for (const entry of parsed.data.wrong) {
    if (seen.has(entry.name)) problems.push(WRONG_MESSAGES.nameTaken(rel(file), entry.name));
    seen.add(entry.name);
    if (!readme.includes(normalizeRule(entry.breaks))) problems.push(WRONG_MESSAGES.notInReadme(rel(file), entry.name, rel(exercise.readmeFile)));
    const folder = path.join(dir, entry.name);
    const files = await listFiles(folder).catch(() => undefined);
    if (files === undefined) {
      problems.push(WRONG_MESSAGES.noFolder(rel(file), entry.name, rel(folder)));
      continue;
    }
    for (const f of files.filter((f) => !exercise.files.includes(f))) problems.push(WRONG_MESSAGES.notAnExerciseFile(rel(path.join(folder, f)), exercise.files));
    const own = files.filter((f) => exercise.files.includes(f));
    if (own.length === 0) problems.push(WRONG_MESSAGES.emptyFolder(rel(folder)));
    solutions.push({ exerciseId: exercise.id, name: entry.name, kind: entry.kind, mistake: entry.mistake, breaks: entry.breaks, dir: folder, files: own });
  }
  const folders = (await fs.readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  for (const folder of folders.filter((f) => !seen.has(f))) problems.push(WRONG_MESSAGES.notListed(rel(path.join(dir, folder)), rel(file)));
  if (problems.length > 0) throw new CatalogError(problems);
  return solutions;
}
