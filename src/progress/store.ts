import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ProgressError, errnoCode, reasonOf } from './errors.ts';
import { WORKBOOK_DIR, fileStamp, freePath, relTo, writeFileAtomic } from './files.ts';

/*
 * .workbook/progress.json: the learner's state. Git-ignored, small, and written only by this module,
 * atomically (a temp file in .workbook/, then a rename).
 *
 * {
 *   "version": 1,                    PROGRESS_VERSION. Any other version is moved aside and rebuilt.
 *   "exercises": {                   One entry per exercise the learner has touched, keyed by exercise id.
 *     "circuit-breaker": {
 *       "status": "fail",            The last verdict: "pass" | "fail" | "error" | "skipped".
 *                                    Absent until the exercise has been checked once (a hint can come first).
 *       "lastRunAt": "2025-11-23T14:51:00.123Z",   When it was last checked (ISO 8601). Absent with "status".
 *       "passedAt": "2025-11-23T14:40:12.000Z",    When it first passed. Kept when a later check fails:
 *                                    an exercise once passed counts as done.
 *       "hintsShown": 2,             How many hints the learner has revealed (they come one at a time).
 *       "solutionViewed": false,     Whether the learner has looked at the reference solution.
 *       "opened": true               Optional: the learner opened it in `learn` (a `check` of every
 *                                    starter does not make an exercise started).
 *     }
 *   },
 *   "current": "circuit-breaker"     Optional: the exercise the learner is working on.
 * }
 *
 * A missing file is an empty state. A file that is not JSON, has another version, or does not match
 * this shape is renamed to progress.json.corrupt-<timestamp> and the state starts empty, with a warning.
 */

export const PROGRESS_VERSION = 1;
export const PROGRESS_FILE = `${WORKBOOK_DIR}/progress.json`;

export const PROGRESS_STATUSES = ['pass', 'fail', 'error', 'skipped'] as const;
export type ProgressStatus = (typeof PROGRESS_STATUSES)[number];

/** Shown to the learner when progress.json could not be used and was moved aside. */
export const PROGRESS_MOVED_ASIDE_WARNING = (movedTo: string, reason: string): string =>
  `Your progress file ${PROGRESS_FILE} could not be read (${reason}). ` +
  `It was moved to ${movedTo} and your progress starts afresh; your exercise files are untouched.`;
export const REASON_NOT_JSON = (parserMessage: string): string => `it is not valid JSON: ${parserMessage}`;
export const REASON_UNKNOWN_VERSION = (got: string): string =>
  `it has version ${got}; this workbook reads version ${PROGRESS_VERSION}`;
export const REASON_BAD_FIELD = (field: string, problem: string): string => `${field}: ${problem}`;

export const FAILED_TO_READ_PROGRESS = (reason: string): string =>
  `failed to read the progress file ${PROGRESS_FILE}: ${reason}`;
export const FAILED_TO_MOVE_PROGRESS = (movedTo: string, reason: string): string =>
  `failed to move the unreadable progress file ${PROGRESS_FILE} aside to ${movedTo}: ${reason}`;
export const FAILED_TO_WRITE_PROGRESS = (reason: string): string =>
  `failed to write the progress file ${PROGRESS_FILE}: ${reason}`;

const exerciseProgressSchema = z.object({
  status: z.enum(PROGRESS_STATUSES).optional(),
  lastRunAt: z.iso.datetime().optional(),
  passedAt: z.iso.datetime().optional(),
  hintsShown: z.int().min(0).default(0),
  solutionViewed: z.boolean().default(false),
  opened: z.boolean().optional(),
});

export const progressFileSchema = z.object({
  version: z.literal(PROGRESS_VERSION),
  exercises: z.record(z.string(), exerciseProgressSchema),
  current: z.string().optional(),
});

export type ExerciseProgress = z.infer<typeof exerciseProgressSchema>;
export type ProgressFile = z.infer<typeof progressFileSchema>;

export interface OpenOptions {
  /** The clock used for timestamps (tests pass a fixed one). */
  now?: () => Date;
}

export interface OpenedProgress {
  store: ProgressStore;
  /** Set when progress.json was unreadable and moved aside: show it to the learner. */
  warning?: string;
}

type Checked = { ok: true; state: ProgressFile } | { ok: false; reason: string };

/** Validates the text of progress.json; on failure says why in words for the learner. */
export function parseProgress(text: string): Checked {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: REASON_NOT_JSON(reasonOf(error)) };
  }
  if (data !== null && typeof data === 'object' && !Array.isArray(data) && 'version' in data) {
    const version: unknown = data.version;
    if (version !== PROGRESS_VERSION) return { ok: false, reason: REASON_UNKNOWN_VERSION(JSON.stringify(version)) };
  }
  const parsed = progressFileSchema.safeParse(data);
  if (parsed.success) return { ok: true, state: parsed.data };
  const issue = parsed.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : 'the file';
  return { ok: false, reason: REASON_BAD_FIELD(field, issue?.message ?? 'does not match the expected shape') };
}

/** The file's text: fields in the documented order, two-space indent, a final newline. */
export function serializeProgress(state: ProgressFile): string {
  const exercises: Record<string, ExerciseProgress> = {};
  for (const [id, e] of Object.entries(state.exercises)) {
    exercises[id] = {
      status: e.status,
      lastRunAt: e.lastRunAt,
      passedAt: e.passedAt,
      hintsShown: e.hintsShown,
      solutionViewed: e.solutionViewed,
      ...(e.opened ? { opened: true } : {}),
    };
  }
  return `${JSON.stringify({ version: state.version, exercises, current: state.current }, null, 2)}\n`;
}

function emptyState(): ProgressFile {
  return { version: PROGRESS_VERSION, exercises: {} };
}

/** The learner's progress, held in memory; `save()` writes it to .workbook/progress.json. */
export class ProgressStore {
  /** Absolute path of progress.json. */
  readonly file: string;
  private readonly now: () => Date;

  private constructor(
    readonly root: string,
    private state: ProgressFile,
    options: OpenOptions,
  ) {
    this.file = path.join(root, PROGRESS_FILE);
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Reads `<root>/.workbook/progress.json`. Missing: an empty state. Unreadable content: moved aside,
   * an empty state and a warning. Throws a ProgressError only when the file system itself fails.
   */
  static async open(root: string, options: OpenOptions = {}): Promise<OpenedProgress> {
    const absRoot = path.resolve(root);
    const file = path.join(absRoot, PROGRESS_FILE);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return { store: new ProgressStore(absRoot, emptyState(), options) };
      throw new ProgressError(FAILED_TO_READ_PROGRESS(reasonOf(error)), { cause: error });
    }

    const checked = parseProgress(text);
    if (checked.ok) return { store: new ProgressStore(absRoot, checked.state, options) };

    const now = options.now ?? (() => new Date());
    const movedTo = await freePath(`${file}.corrupt-${fileStamp(now())}`);
    try {
      await fs.rename(file, movedTo);
    } catch (error) {
      throw new ProgressError(FAILED_TO_MOVE_PROGRESS(relTo(absRoot, movedTo), reasonOf(error)), { cause: error });
    }
    return {
      store: new ProgressStore(absRoot, emptyState(), options),
      warning: PROGRESS_MOVED_ASIDE_WARNING(relTo(absRoot, movedTo), checked.reason),
    };
  }

  /** A copy of the exercise's entry, or undefined if the learner has not touched it. */
  get(id: string): ExerciseProgress | undefined {
    const entry = this.own(id);
    return entry ? { ...entry } : undefined;
  }

  /** The exercise the learner is working on, if set. */
  get current(): string | undefined {
    return this.state.current;
  }

  /** Records a check's verdict. The first pass sets `passedAt`, which later verdicts keep. */
  record(id: string, status: ProgressStatus): ExerciseProgress {
    const entry = this.entry(id);
    const at = this.now().toISOString();
    entry.status = status;
    entry.lastRunAt = at;
    if (status === 'pass' && entry.passedAt === undefined) entry.passedAt = at;
    return { ...entry };
  }

  /** Counts one more hint revealed; returns how many have been shown now. */
  hintShown(id: string): number {
    const entry = this.entry(id);
    entry.hintsShown += 1;
    return entry.hintsShown;
  }

  solutionViewed(id: string): void {
    this.entry(id).solutionViewed = true;
  }

  setCurrent(id: string | undefined): void {
    if (id === undefined) delete this.state.current;
    else this.state.current = id;
  }

  /** Remembers that the learner opened the exercise in `learn`. */
  markOpened(id: string): void {
    this.entry(id).opened = true;
  }

  /** The first exercise after `current` (in order, wrapping around) that has never passed, or undefined when all have. */
  nextUnfinished(idsInOrder: readonly string[], current: string): string | undefined {
    const at = idsInOrder.indexOf(current);
    const after = [...idsInOrder.slice(at + 1), ...idsInOrder.slice(0, Math.max(0, at))];
    return after.find((id) => !this.isDone(id));
  }

  /** True once the exercise has passed, even if a later check failed. */
  isDone(id: string): boolean {
    return this.own(id)?.passedAt !== undefined;
  }

  /** The first of `idsInOrder` that has never passed, or undefined when all have. */
  firstUnfinished(idsInOrder: readonly string[]): string | undefined {
    return idsInOrder.find((id) => !this.isDone(id));
  }

  /** A deep copy of the whole state, as it would be written. */
  snapshot(): ProgressFile {
    return structuredClone(this.state);
  }

  /**
   * Writes the state to .workbook/progress.json atomically. Saves run one after another, so a
   * save started later (with newer state) can never be overtaken by an earlier one.
   */
  save(): Promise<void> {
    const write = async (): Promise<void> => {
      try {
        await fs.mkdir(path.dirname(this.file), { recursive: true });
        await writeFileAtomic(this.file, serializeProgress(this.state));
      } catch (error) {
        throw new ProgressError(FAILED_TO_WRITE_PROGRESS(reasonOf(error)), { cause: error });
      }
    };
    const saved = this.saving.then(write, write);
    this.saving = saved.catch(() => undefined);
    return saved;
  }

  private saving: Promise<void> = Promise.resolve();

  /** The entry for `id`, if any (an own key only: an id like "constructor" must not find Object's). */
  private own(id: string): ExerciseProgress | undefined {
    return Object.hasOwn(this.state.exercises, id) ? this.state.exercises[id] : undefined;
  }

  private entry(id: string): ExerciseProgress {
    let entry = this.own(id);
    if (!entry) {
      entry = { hintsShown: 0, solutionViewed: false };
      this.state.exercises[id] = entry;
    }
    return entry;
  }
}
