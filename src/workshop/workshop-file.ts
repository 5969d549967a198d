/**
 * The workshop file: what an instructor commits to a fork of the workbook so that `learn` and
 * `check` take a room through the same exercises.
 *
 * <root>/workshop.json (or the file given with --workshop)
 *   { "version": 1, "title": "Observability for backend developers",
 *     "exercises": ["foundations", "timeout", "circuit-breaker"],
 *     "solutionsBeforePass": false,
 *     "otlp": "http://collector.workshop.example:4318" }
 *   exercises: exercise ids and track ids, in the order the workshop takes them; a track stands for
 *   all of its exercises, in the workbook's order. solutionsBeforePass: whether `learn` shows the
 *   reference solution before the exercise passes. otlp (optional): the base URL of an OTLP/HTTP
 *   endpoint (a Collector, Jaeger, Tempo) that receives every graded run; `/v1/traces` is added.
 *   Unknown fields are rejected.
 *
 * Validated the way the catalog's files are (zod, one line per problem naming the file and the
 * field), in two steps: the shape when the file is read (before the catalog has loaded, since the
 * endpoint decides the first line the learner sees), the ids against the catalog after.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { buildCatalog, type Catalog, type Exercise, type Track } from '../catalog/index.ts';
import { formatIssues } from '../catalog/issues.ts';
import { INVALID_JSON } from '../catalog/messages.ts';

export const WORKSHOP_FILE = 'workshop.json';
/** The workshop format this workbook reads. */
export const WORKSHOP_VERSION = 1;

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** What each field must be, worded for the instructor reading `<file>: "<field>" <rule> (got …)`. */
export const WORKSHOP_RULES = {
  version: `must be ${WORKSHOP_VERSION}, the workshop format this workbook reads`,
  title: 'must be a non-empty string',
  exercises: 'must be a non-empty list of exercise ids and track ids, in the order the workshop takes them',
  entry: 'must be an exercise id or a track id: lowercase letters and digits separated by single hyphens',
  solutionsBeforePass: 'must be true or false: whether learn shows the reference solution before the exercise passes',
  otlp: 'must be the http:// or https:// base URL of an OTLP/HTTP endpoint, like http://collector.example:4318',
} as const;

export const WORKSHOP_MESSAGES = {
  unreadable: (file: string, reason: string) => `${file}: failed to read the workshop file: ${reason}`,
  unknownEntry: (file: string, field: string, id: string, close: readonly string[]) =>
    `${file}: "${field}" "${id}" is neither an exercise nor a track of this workbook${close.length > 0 ? `. Did you mean: ${close.join(', ')}?` : ''}`,
  ambiguousEntry: (file: string, field: string, id: string) => `${file}: "${field}" "${id}" names both an exercise and a track: rename one of them`,
  emptyTrack: (file: string, field: string, id: string) => `${file}: "${field}" track "${id}" has no exercises in this workbook`,
  duplicate: (file: string, field: string, id: string, firstField: string, via: string | undefined) =>
    `${file}: "${field}" "${id}" is already in the workshop, ${via === undefined ? `as "${firstField}"` : `through track "${via}" at "${firstField}"`}`,
} as const;

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

export const workshopFileSchema = z.strictObject({
  version: z.literal(WORKSHOP_VERSION, { error: WORKSHOP_RULES.version }),
  title: z.string({ error: WORKSHOP_RULES.title }).trim().min(1, { error: WORKSHOP_RULES.title }),
  exercises: z
    .array(z.string({ error: WORKSHOP_RULES.entry }).regex(SLUG, { error: WORKSHOP_RULES.entry }), { error: WORKSHOP_RULES.exercises })
    .min(1, { error: WORKSHOP_RULES.exercises }),
  solutionsBeforePass: z.boolean({ error: WORKSHOP_RULES.solutionsBeforePass }),
  otlp: z.string({ error: WORKSHOP_RULES.otlp }).refine(isHttpUrl, { error: WORKSHOP_RULES.otlp }).optional(),
});
export type WorkshopFile = z.infer<typeof workshopFileSchema>;

/** The workshop file could not be used. `problems` holds one line per problem, each naming the file. */
export class WorkshopError extends Error {
  override readonly name = 'WorkshopError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

/** A workshop file that has the right shape, before its ids are looked up. */
export interface WorkshopSource {
  /** The file as the learner would name it: relative to the workbook (or as given on the command line). */
  file: string;
  data: WorkshopFile;
}

/** A workshop whose ids are all exercises of the catalog. */
export interface Workshop {
  file: string;
  title: string;
  /** In the workshop's order, each once. */
  exercises: Exercise[];
  solutionsBeforePass: boolean;
  otlp: string | undefined;
}

/**
 * Reads the workshop file: `explicit` (the absolute path given with --workshop), or
 * `<root>/workshop.json` when there is one. Undefined when no workshop applies. Throws a
 * WorkshopError for a file that cannot be read (only a missing default file is no workshop) or has
 * the wrong shape.
 */
export async function readWorkshopFile(root: string, explicit?: string): Promise<WorkshopSource | undefined> {
  const full = explicit === undefined ? path.join(root, WORKSHOP_FILE) : path.resolve(explicit);
  // Named the way the catalog names its files: relative to the workbook, when it is inside it.
  const relative = path.relative(root, full);
  const file = relative.startsWith('..') || path.isAbsolute(relative) ? full : relative.split(path.sep).join('/');
  let text: string;
  try {
    text = await readFile(full, 'utf8');
  } catch (error) {
    if (explicit === undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'there is no such file' : error instanceof Error ? error.message : String(error);
    throw new WorkshopError([WORKSHOP_MESSAGES.unreadable(file, reason)]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new WorkshopError([INVALID_JSON(file, error instanceof Error ? error.message : String(error))]);
  }
  const parsed = workshopFileSchema.safeParse(data);
  if (!parsed.success) throw new WorkshopError(formatIssues(file, parsed.error.issues, data));
  return { file, data: parsed.data };
}

/** Looks the workshop's ids up in the catalog: every entry an exercise or a track, no exercise twice. */
export function resolveWorkshop(source: WorkshopSource, catalog: Catalog): Workshop {
  const { file, data } = source;
  const problems: string[] = [];
  const exercises: Exercise[] = [];
  const placedAt = new Map<string, { field: string; via: string | undefined }>();
  const trackIds = new Set(catalog.tracks.map((t) => t.id));
  data.exercises.forEach((id, i) => {
    const field = `exercises[${i}]`;
    const exercise = catalog.byId(id);
    const isTrack = trackIds.has(id);
    if (exercise && isTrack) return problems.push(WORKSHOP_MESSAGES.ambiguousEntry(file, field, id));
    if (!exercise && !isTrack) {
      const close = [...catalog.suggest(id, 3), ...catalog.tracks.map((t) => t.id).filter((t) => t.startsWith(id) || id.startsWith(t))].slice(0, 3);
      return problems.push(WORKSHOP_MESSAGES.unknownEntry(file, field, id, close));
    }
    const members = exercise ? [exercise] : catalog.inTrack(id);
    if (members.length === 0) return problems.push(WORKSHOP_MESSAGES.emptyTrack(file, field, id));
    for (const member of members) {
      const first = placedAt.get(member.id);
      if (first) {
        problems.push(WORKSHOP_MESSAGES.duplicate(file, field, member.id, first.field, first.via));
        continue;
      }
      placedAt.set(member.id, { field, via: exercise ? undefined : id });
      exercises.push(member);
    }
    return undefined;
  });
  if (problems.length > 0) throw new WorkshopError(problems);
  return { file, title: data.title, exercises, solutionsBeforePass: data.solutionsBeforePass, otlp: data.otlp };
}

/**
 * The catalog as the workshop shows it: only its exercises, in its order; tracks in the order the
 * workshop first reaches them. Looking an id up finds only the workshop's exercises too, so `n`
 * (next unfinished) stays inside the workshop.
 */
export function workshopCatalog(catalog: Catalog, workshop: Workshop): Catalog {
  const tracks: Track[] = [];
  for (const exercise of workshop.exercises) {
    const track = catalog.tracks.find((t) => t.id === exercise.track);
    if (track && !tracks.includes(track)) tracks.push(track);
  }
  return buildCatalog(catalog.root, tracks, workshop.exercises, catalog.problems);
}
