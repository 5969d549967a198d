import type { Difficulty, ServerName } from './schema.ts';

export interface Track {
  id: string;
  title: string;
  summary: string;
  /** Absolute path of `exercises/<NN-track>`. */
  dir: string;
}

export interface Exercise {
  id: string;
  title: string;
  /** The track's id. */
  track: string;
  trackTitle: string;
  difficulty: Difficulty;
  summary: string;
  /** The files the learner edits, relative to `dir` (and mirrored under `solutionDir`). */
  files: string[];
  hints: string[];
  servers: ServerName[];
  /** `01-foundations/01-first-span`, always with forward slashes. */
  relDir: string;
  /** Absolute path of `exercises/<relDir>`. */
  dir: string;
  /** Absolute path of `solutions/<relDir>`. */
  solutionDir: string;
  /** Absolute path of `checker/<NN-track>/<NN-slug>.test.ts`. */
  checkerFile: string;
  /** Absolute path of `exercises/<relDir>/README.md`. */
  readmeFile: string;
}

export interface Catalog {
  /** Absolute path of the workbook root (the folder holding exercises/, solutions/ and checker/). */
  root: string;
  tracks: Track[];
  /** In track order, then exercise order. */
  exercises: Exercise[];
  /** Loaded leniently: why some exercises or tracks were left out, one line each, naming the file. */
  problems: string[];
  byId(id: string): Exercise | undefined;
  /** Ids close to a mistyped one, best first: prefix and substring matches, then small edit distances. */
  suggest(id: string, max?: number): string[];
  /** The track's exercises in order; empty for an unknown track. */
  inTrack(trackId: string): Exercise[];
}
