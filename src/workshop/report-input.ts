/**
 * Reads learners' results for the report, in either of the two forms a workshop collects them:
 * - `check --json` files, one per learner (the learner is the file's `learner` field, else its name:
 *   `ada.json` is Ada's);
 * - OTLP JSON, as an OpenTelemetry Collector's file exporter writes it (one export request per line)
 *   or as `check --trace-file` writes it (one request): the `check <exercise-id>` spans of scope
 *   `tracecraft` are the runs, everything else (the learners' own traces) is passed over.
 * Either may be gzipped (`.gz`). A file that is neither says so, naming the file and the line.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { AttributeValue, Attributes } from '@opentelemetry/api';
import { z } from 'zod';
import { formatIssues } from '../catalog/issues.ts';
import { attributes, nanosToMs } from '../trace/otlp-receiver.ts';
import type { GradedRun } from './report-model.ts';
import { RESOURCE_LEARNER, RUN_ATTRIBUTES, RUN_SCOPE, RUN_SPAN_PREFIX } from './run-attributes.ts';

export const INPUT_MESSAGES = {
  unreadable: (file: string, reason: string) => `${file}: failed to read: ${reason}`,
  notJson: (where: string, reason: string) => `${where}: neither JSON nor JSON lines: ${reason}`,
  unknownShape: (where: string) =>
    `${where}: neither a check --json result (with "version" and "exercises") nor OTLP JSON (with "resourceSpans")`,
  noRuns: (file: string) => `${file}: OTLP JSON, but without a single "check <exercise>" span of scope "${RUN_SCOPE}" (was it exported by tracecraft?)`,
} as const;

export class ReportInputError extends Error {
  override readonly name = 'ReportInputError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

const STATUSES = ['pass', 'fail', 'error', 'skipped'] as const;

/** The part of `check --json` the report reads; other fields are allowed. */
const checkJsonSchema = z.object({
  version: z.literal(1),
  learner: z.string().min(1).optional(),
  at: z.string().optional(),
  exercises: z.array(
    z.object({
      id: z.string(),
      track: z.string(),
      status: z.enum(STATUSES),
      started: z.boolean().optional(),
      tests: z.array(z.object({ name: z.string(), status: z.enum(['pass', 'fail', 'error']) })),
    }),
  ),
});

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

interface FileFacts {
  file: string;
  /** The learner a check --json file belongs to when it does not say: its name without extensions. */
  learner: string;
  /** When the file was last written, for results that carry no time. */
  mtimeMs: number;
}

function fromCheckJson(data: unknown, where: string, facts: FileFacts): GradedRun[] {
  const parsed = checkJsonSchema.safeParse(data);
  if (!parsed.success) throw new ReportInputError(formatIssues(where, parsed.error.issues, data));
  const { learner, at, exercises } = parsed.data;
  const atMs = at === undefined ? facts.mtimeMs : Date.parse(at);
  return exercises.map((e) => {
    const failed = e.tests.filter((t) => t.status !== 'pass').map((t) => t.name);
    return {
      learner: learner ?? facts.learner,
      exercise: e.id,
      track: e.track,
      verdict: e.status,
      passed: e.tests.length - failed.length,
      total: e.tests.length,
      failed,
      started: e.started,
      at: Number.isNaN(atMs) ? facts.mtimeMs : atMs,
      source: where,
    };
  });
}

const text = (value: AttributeValue | undefined): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const count = (value: AttributeValue | undefined): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

function runFromSpan(span: Json, resource: Attributes, where: string): GradedRun | undefined {
  const name = typeof span['name'] === 'string' ? span['name'] : '';
  if (!name.startsWith(RUN_SPAN_PREFIX)) return undefined;
  const attrs = attributes(span['attributes']);
  const exercise = text(attrs[RUN_ATTRIBUTES.exercise]);
  const verdict = STATUSES.find((s) => s === attrs[RUN_ATTRIBUTES.verdict]);
  if (exercise === undefined || verdict === undefined) return undefined;
  const failedList = attrs[RUN_ATTRIBUTES.failed];
  const first = text(attrs[RUN_ATTRIBUTES.firstFailed]);
  const failed = Array.isArray(failedList) ? failedList.filter((v): v is string => typeof v === 'string') : first ? [first] : [];
  const started = attrs[RUN_ATTRIBUTES.started];
  return {
    learner: text(attrs[RUN_ATTRIBUTES.learner]) ?? text(resource[RESOURCE_LEARNER]) ?? 'unknown',
    exercise,
    track: text(attrs[RUN_ATTRIBUTES.track]),
    verdict,
    passed: count(attrs[RUN_ATTRIBUTES.passed]),
    total: count(attrs[RUN_ATTRIBUTES.total]),
    failed,
    started: typeof started === 'boolean' ? started : undefined,
    at: nanosToMs(span['endTimeUnixNano']) ?? nanosToMs(span['startTimeUnixNano']),
    source: where,
  };
}

/** The runs in one ExportTraceServiceRequest: the tracecraft scope's `check …` spans. */
export function runsFromOtlp(data: Json, where: string): GradedRun[] {
  const runs: GradedRun[] = [];
  for (const resourceSpans of list(data['resourceSpans'])) {
    if (!isObject(resourceSpans)) continue;
    const resource = attributes(isObject(resourceSpans['resource']) ? resourceSpans['resource']['attributes'] : undefined);
    for (const scopeSpans of list(resourceSpans['scopeSpans'])) {
      if (!isObject(scopeSpans) || !isObject(scopeSpans['scope']) || scopeSpans['scope']['name'] !== RUN_SCOPE) continue;
      for (const span of list(scopeSpans['spans'])) {
        const run = isObject(span) ? runFromSpan(span, resource, where) : undefined;
        if (run) runs.push(run);
      }
    }
  }
  return runs;
}

/** One JSON document: a check --json result or an OTLP export request. */
function runsOf(data: unknown, where: string, facts: FileFacts): { runs: GradedRun[]; otlp: boolean } {
  if (isObject(data) && 'resourceSpans' in data) return { runs: runsFromOtlp(data, where), otlp: true };
  if (isObject(data) && 'exercises' in data && 'version' in data) return { runs: fromCheckJson(data, where, facts), otlp: false };
  throw new ReportInputError([INPUT_MESSAGES.unknownShape(where)]);
}

/** The text as one JSON document, or else as JSON lines (a Collector's file exporter writes one request per line). */
function documents(textContent: string, file: string): { data: unknown; where: string }[] {
  try {
    return [{ data: JSON.parse(textContent), where: file }];
  } catch (whole) {
    const lines = textContent.split('\n');
    if (lines.filter((l) => l.trim() !== '').length < 2) throw new ReportInputError([INPUT_MESSAGES.notJson(file, (whole as Error).message)]);
    return lines.flatMap((line, i) => {
      if (line.trim() === '') return [];
      try {
        return [{ data: JSON.parse(line) as unknown, where: `${file}:${i + 1}` }];
      } catch (error) {
        throw new ReportInputError([INPUT_MESSAGES.notJson(`${file}:${i + 1}`, (error as Error).message)]);
      }
    });
  }
}

/** The runs in one file's text, in the order they appear. */
export function parseResults(textContent: string, facts: FileFacts): GradedRun[] {
  const runs: GradedRun[] = [];
  let otlp = false;
  for (const { data, where } of documents(textContent, facts.file)) {
    const found = runsOf(data, where, facts);
    otlp ||= found.otlp;
    runs.push(...found.runs);
  }
  if (otlp && runs.length === 0) throw new ReportInputError([INPUT_MESSAGES.noRuns(facts.file)]);
  return runs;
}

/** Reads every file (in the order given); all problems are collected, each naming its file. */
export async function readResults(files: readonly string[]): Promise<GradedRun[]> {
  const problems: string[] = [];
  const runs: GradedRun[] = [];
  for (const file of files) {
    try {
      const [raw, info] = await Promise.all([readFile(file), stat(file)]);
      const content = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
      const learner = path.basename(file).replace(/(\.json|\.jsonl|\.gz)+$/i, '');
      runs.push(...parseResults(content, { file, learner, mtimeMs: info.mtimeMs }));
    } catch (error) {
      if (error instanceof ReportInputError) problems.push(...error.problems);
      else if ((error as NodeJS.ErrnoException).code === 'ENOENT') problems.push(INPUT_MESSAGES.unreadable(file, 'there is no such file'));
      else problems.push(INPUT_MESSAGES.unreadable(file, error instanceof Error ? error.message : String(error)));
    }
  }
  if (problems.length > 0) throw new ReportInputError(problems);
  return runs;
}
