import fs from 'node:fs/promises';
import path from 'node:path';
import { buildCatalog } from './catalog.ts';
import { CatalogError } from './errors.ts';
import { listNumberedFolders, type NumberedFolder } from './folders.ts';
import { formatIssues } from './issues.ts';
import {
  DUPLICATE_EXERCISE_ID,
  DUPLICATE_TRACK_ID,
  FAILED_TO_READ,
  FAILED_TO_READ_FOLDER,
  ID_NOT_FOLDER_NAME,
  INVALID_JSON,
  LISTED_FILE_MISSING,
  MISSING_FILE,
  NO_EXERCISES_FOLDER,
  TRACK_MISMATCH,
  WHY_CHECKER,
  WHY_EXERCISE_JSON,
  WHY_README,
  WHY_TRACK_JSON,
} from './messages.ts';
import type { Catalog, Exercise, Track } from './model.ts';
import { exerciseFileSchema, trackFileSchema } from './schema.ts';

export const EXERCISES_DIR = 'exercises';
export const SOLUTIONS_DIR = 'solutions';
export const CHECKER_DIR = 'checker';
export const TRACK_FILE = 'track.json';
export const EXERCISE_FILE = 'exercise.json';
export const README_FILE = 'README.md';
export const CHECKER_SUFFIX = '.test.ts';

export interface LoadOptions {
  /**
   * Leave out an exercise (or a track) that has problems instead of failing the whole catalog:
   * one incomplete exercise folder must not stop a learner from working on the others. The
   * problems are in `catalog.problems`, each naming its file. Default false: every problem throws.
   */
  lenient?: boolean;
}

/**
 * Finds every track and exercise under `<root>/exercises`, validates their metadata and the files
 * around them (README, solution files, checker), and returns them in order.
 * Throws a CatalogError listing every problem found, one per line, each naming its file (in
 * lenient mode, only the problems no exercise can be left out for: no exercises folder, a
 * duplicate id).
 */
export async function loadCatalog(root: string, options: LoadOptions = {}): Promise<Catalog> {
  const loader = new Loader(path.resolve(root), options.lenient ?? false);
  return loader.load();
}

interface LoadedTrack {
  folder: NumberedFolder;
  track?: Track;
  exercises: Exercise[];
}

type ReadResult = { ok: true; text: string } | { ok: false; missing: boolean; reason: string };

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

class Loader {
  private readonly problems: string[] = [];

  constructor(
    private readonly root: string,
    private readonly lenient = false,
  ) {}

  async load(): Promise<Catalog> {
    const exercisesDir = path.join(this.root, EXERCISES_DIR);
    let trackFolders: NumberedFolder[];
    try {
      trackFolders = await listNumberedFolders(exercisesDir);
    } catch (error) {
      throw new CatalogError([NO_EXERCISES_FOLDER(EXERCISES_DIR, reasonOf(error))]);
    }

    // Read in parallel, report in order: each track collects its own problems.
    const perTrack = await Promise.all(
      trackFolders.map(async (folder) => {
        const loader = new Loader(this.root, this.lenient);
        const loaded = await loader.loadTrack(folder);
        return { loaded, problems: loader.problems };
      }),
    );
    for (const { problems } of perTrack) this.problems.push(...problems);
    const loaded = perTrack.map((t) => t.loaded);
    const leftOut = [...this.problems];

    this.checkDuplicates(loaded);
    const blocking = this.lenient ? this.problems.slice(leftOut.length) : this.problems;
    if (blocking.length > 0) throw new CatalogError(blocking);

    const tracks = loaded.flatMap((t) => (t.track ? [t.track] : []));
    const exercises = loaded.flatMap((t) => (t.track ? t.exercises : []));
    return buildCatalog(this.root, tracks, exercises, leftOut);
  }

  /** `root`-relative, forward slashes: how files are named in messages. */
  private rel(abs: string): string {
    return path.relative(this.root, abs).split(path.sep).join('/');
  }

  private async read(abs: string): Promise<ReadResult> {
    try {
      return { ok: true, text: await fs.readFile(abs, 'utf8') };
    } catch (error) {
      return { ok: false, missing: isMissing(error), reason: reasonOf(error) };
    }
  }

  /** Reads and parses a JSON file, recording a problem (and returning undefined) if it can't. */
  private async readJson(abs: string, whyNeeded: string): Promise<{ data: unknown } | undefined> {
    const file = this.rel(abs);
    const result = await this.read(abs);
    if (!result.ok) {
      this.problems.push(result.missing ? MISSING_FILE(file, whyNeeded) : FAILED_TO_READ(file, result.reason));
      return undefined;
    }
    try {
      return { data: JSON.parse(result.text) as unknown };
    } catch (error) {
      this.problems.push(INVALID_JSON(file, reasonOf(error)));
      return undefined;
    }
  }

  /** True if `abs` is a file; records a problem for I/O errors other than "not there". */
  private async isFile(abs: string): Promise<boolean> {
    try {
      return (await fs.stat(abs)).isFile();
    } catch (error) {
      if (!isMissing(error)) this.problems.push(FAILED_TO_READ(this.rel(abs), reasonOf(error)));
      return false;
    }
  }

  private async isDirectory(abs: string): Promise<boolean> {
    try {
      return (await fs.stat(abs)).isDirectory();
    } catch (error) {
      if (!isMissing(error)) this.problems.push(FAILED_TO_READ_FOLDER(this.rel(abs), reasonOf(error)));
      return false;
    }
  }

  private async loadTrack(folder: NumberedFolder): Promise<LoadedTrack> {
    const dir = path.join(this.root, EXERCISES_DIR, folder.folder);
    const trackFile = path.join(dir, TRACK_FILE);
    let track: Track | undefined;

    const json = await this.readJson(trackFile, WHY_TRACK_JSON);
    if (json) {
      const parsed = trackFileSchema.safeParse(json.data);
      if (!parsed.success) {
        this.problems.push(...formatIssues(this.rel(trackFile), parsed.error.issues, json.data));
      } else if (parsed.data.id !== folder.name) {
        this.problems.push(ID_NOT_FOLDER_NAME(this.rel(trackFile), folder.name, parsed.data.id));
      } else {
        track = { id: parsed.data.id, title: parsed.data.title, summary: parsed.data.summary, dir };
      }
    }

    let exerciseFolders: NumberedFolder[];
    try {
      exerciseFolders = await listNumberedFolders(dir);
    } catch (error) {
      this.problems.push(FAILED_TO_READ_FOLDER(this.rel(dir), reasonOf(error)));
      return { folder, track, exercises: [] };
    }

    const perExercise = await Promise.all(
      exerciseFolders.map(async (exerciseFolder) => {
        const loader = new Loader(this.root, this.lenient);
        const exercise = await loader.loadExercise(folder, exerciseFolder, track, trackFile);
        return { exercise, problems: loader.problems };
      }),
    );
    const exercises: Exercise[] = [];
    for (const { exercise, problems } of perExercise) {
      this.problems.push(...problems);
      // An exercise with a problem is not one: in lenient mode it is left out, with its problems reported.
      if (exercise && problems.length === 0) exercises.push(exercise);
    }
    return { folder, track, exercises };
  }

  private async loadExercise(
    trackFolder: NumberedFolder,
    folder: NumberedFolder,
    track: Track | undefined,
    trackFile: string,
  ): Promise<Exercise | undefined> {
    const relDir = `${trackFolder.folder}/${folder.folder}`;
    const dir = path.join(this.root, EXERCISES_DIR, trackFolder.folder, folder.folder);
    const solutionDir = path.join(this.root, SOLUTIONS_DIR, trackFolder.folder, folder.folder);
    const checkerFile = path.join(this.root, CHECKER_DIR, trackFolder.folder, `${folder.folder}${CHECKER_SUFFIX}`);
    const readmeFile = path.join(dir, README_FILE);
    const exerciseFile = path.join(dir, EXERCISE_FILE);
    const metaName = this.rel(exerciseFile);

    let exercise: Exercise | undefined;
    const json = await this.readJson(exerciseFile, WHY_EXERCISE_JSON);
    if (json) {
      const parsed = exerciseFileSchema.safeParse(json.data);
      if (!parsed.success) {
        this.problems.push(...formatIssues(metaName, parsed.error.issues, json.data));
      } else {
        const meta = parsed.data;
        let valid = true;
        if (meta.id !== folder.name) {
          this.problems.push(ID_NOT_FOLDER_NAME(metaName, folder.name, meta.id));
          valid = false;
        }
        if (track && meta.track !== track.id) {
          this.problems.push(TRACK_MISMATCH(metaName, this.rel(trackFile), track.id, meta.track));
          valid = false;
        }
        if (valid) {
          exercise = {
            id: meta.id,
            title: meta.title,
            track: meta.track,
            trackTitle: track?.title ?? '',
            difficulty: meta.difficulty,
            summary: meta.summary,
            files: meta.files,
            hints: meta.hints,
            servers: meta.servers,
            relDir,
            dir,
            solutionDir,
            checkerFile,
            readmeFile,
          };
        }
        await this.checkListedFiles(metaName, meta.files, dir, solutionDir, meta.id);
      }
    }

    if (!(await this.isFile(readmeFile))) this.problems.push(MISSING_FILE(this.rel(readmeFile), WHY_README));
    if (!(await this.isFile(checkerFile))) {
      this.problems.push(MISSING_FILE(this.rel(checkerFile), WHY_CHECKER(exercise?.id ?? folder.name)));
    }
    return exercise;
  }

  private async checkListedFiles(
    metaName: string,
    files: readonly string[],
    dir: string,
    solutionDir: string,
    id: string,
  ): Promise<void> {
    const hasSolutionDir = await this.isDirectory(solutionDir);
    if (!hasSolutionDir) {
      this.problems.push(MISSING_FILE(`${this.rel(solutionDir)}/`, `the reference solution of exercise "${id}"`));
    }
    for (const file of files) {
      const starter = path.join(dir, file);
      if (!(await this.isFile(starter))) this.problems.push(LISTED_FILE_MISSING(metaName, file, this.rel(starter)));
      if (!hasSolutionDir) continue;
      const solution = path.join(solutionDir, file);
      if (!(await this.isFile(solution))) this.problems.push(LISTED_FILE_MISSING(metaName, file, this.rel(solution)));
    }
  }

  private checkDuplicates(loaded: readonly LoadedTrack[]): void {
    const trackIds = new Map<string, string>();
    const exerciseIds = new Map<string, string>();
    for (const { folder, track, exercises } of loaded) {
      const trackDir = `${EXERCISES_DIR}/${folder.folder}`;
      if (track) {
        const first = trackIds.get(track.id);
        if (first !== undefined) this.problems.push(DUPLICATE_TRACK_ID(`${trackDir}/${TRACK_FILE}`, track.id, first));
        else trackIds.set(track.id, trackDir);
      }
      for (const exercise of exercises) {
        const exerciseDir = `${EXERCISES_DIR}/${exercise.relDir}`;
        const first = exerciseIds.get(exercise.id);
        if (first !== undefined) {
          this.problems.push(DUPLICATE_EXERCISE_ID(`${exerciseDir}/${EXERCISE_FILE}`, exercise.id, first));
        } else {
          exerciseIds.set(exercise.id, exerciseDir);
        }
      }
    }
  }
}
