/**
 * A generated workshop: 100 learners on six exercises, each learner in a known state on each
 * exercise, written the two ways a workshop collects results: `check --json` files (one per
 * learner) and OTLP JSON lines as a Collector's file exporter writes them (every run, from
 * `learn` saves and `check` runs, batches mixing learners). The states are drawn from a seeded
 * generator, and fixed learners beside the drawn ones put every state on every exercise.
 */
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ExerciseResult, ExerciseStatus, TestResult } from '../../src/runner/results.ts';
import type { LearnerState } from '../../src/workshop/report-model.ts';
import { RunSpans } from '../../src/workshop/run-spans.ts';
import { span, trace } from '../trace/build.ts';

export const EXERCISES = [
  { id: 'first-span', track: 'foundations', checks: ['returns the word count', 'records one span named count words', 'sets app.words on the span'] },
  { id: 'nested-spans', track: 'foundations', checks: ['returns the order', 'nests load under handle', 'ends every span'] },
  { id: 'timeout', track: 'resilience', checks: ['aborts after the deadline', 'records the timeout as an error', 'passes the signal down'] },
  { id: 'retry-with-backoff', track: 'resilience', checks: ['retries what may succeed', 'waits with full jitter', 'honours Retry-After', 'one span per attempt'] },
  { id: 'circuit-breaker', track: 'resilience', checks: ['opens after the threshold', 'lets one trial through', 'records state changes as events'] },
  { id: 'hexagonal', track: 'architecture', checks: ['the domain imports no OpenTelemetry', 'adapters decorate the ports', 'one span per port call'] },
] as const;

export type ExerciseId = (typeof EXERCISES)[number]['id'];

/** What the generator decided for one learner on one exercise; the report must find the same. */
export interface Truth {
  state: LearnerState;
  /** For `stuck`: the checks failing in the latest run. */
  failing: string[];
}

export interface Learner {
  name: string;
  /** Whether their check --json file names them (else the file name does). */
  namedInJson: boolean;
  truth: Record<ExerciseId, Truth>;
}

/** mulberry32: a small seeded generator, so the workshop is the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STATES: LearnerState[] = ['passed', 'stuck', 'not-started', 'skipped', 'no-result'];

export function generateLearners(count = 100, seed = 20261201): Learner[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  return Array.from({ length: count }, (_, i) => {
    const truth = {} as Record<ExerciseId, Truth>;
    EXERCISES.forEach((exercise, e) => {
      // The first five learners walk every state across every exercise, whatever the draw.
      const state = i < STATES.length ? (STATES[(i + e) % STATES.length] as LearnerState) : pick(['passed', 'passed', 'stuck', 'stuck', 'not-started', 'no-result', 'skipped'] as const);
      const failing = state === 'stuck' ? exercise.checks.filter((_, c) => c === 0 || next() < 0.4).slice(i % 2) : [];
      truth[exercise.id] = { state, failing: state === 'stuck' && failing.length === 0 ? [exercise.checks[1]] : failing };
    });
    // Names that sort in a known order, some with characters beyond ASCII.
    const name = i % 10 === 3 ? `Zoë ${String(i).padStart(3, '0')}` : `learner ${String(i).padStart(3, '0')}`;
    return { name, namedInJson: i % 2 === 0, truth };
  });
}

const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);

function testsFor(exercise: (typeof EXERCISES)[number], failing: readonly string[], withTrace: boolean): TestResult[] {
  return exercise.checks.map((name, i) => ({
    name,
    status: failing.includes(name) ? (i === exercise.checks.length - 1 ? 'error' : 'fail') : 'pass',
    ...(withTrace && i === 0 ? { traces: [trace(span(`${exercise.id} work`, { kind: 'server' }, span('inner step', { kind: 'client' })))] } : {}),
  }));
}

function result(exercise: (typeof EXERCISES)[number], status: ExerciseStatus, failing: readonly string[], withTrace = false): ExerciseResult {
  if (status === 'skipped') return { id: exercise.id, track: exercise.track, status, message: 'redis is missing', tests: [] };
  return { id: exercise.id, track: exercise.track, status, durationMs: 300, tests: testsFor(exercise, failing, withTrace) };
}

/** One learner's latest state as `check --json` prints it. */
export function checkJson(learner: Learner, at: number): object {
  const exercises = EXERCISES.filter((e) => learner.truth[e.id].state !== 'no-result').map((e) => {
    const { state, failing } = learner.truth[e.id];
    const status: ExerciseStatus = state === 'passed' ? 'pass' : state === 'skipped' ? 'skipped' : failing.at(-1) === e.checks.at(-1) ? 'error' : 'fail';
    const shown = state === 'not-started' ? [e.checks[0]] : failing;
    const tests = status === 'skipped' ? [] : testsFor(e, shown, false).map((t) => ({ name: t.name, status: t.status, ...(t.status === 'pass' ? {} : { message: 'expected …' }) }));
    return { id: e.id, track: e.track, status, tests, started: state !== 'not-started' };
  });
  return {
    version: 1,
    status: 'fail',
    ...(learner.namedInJson ? { learner: learner.name } : {}),
    at: new Date(at).toISOString(),
    exercises,
    summary: { pass: 0, fail: 0, error: 0, skipped: 0 },
  };
}

/** The file a learner's check --json goes to: named after them when the JSON does not say who they are. */
export function jsonFileName(learner: Learner, i: number): string {
  return learner.namedInJson ? `results-${i}.json` : `${learner.name}.json`;
}

interface Run {
  at: number;
  spans: ReadableSpan[];
}

/** Every run a learner made: for each exercise, the history that leads to its state, from learn saves and check runs. */
function runsOf(learner: Learner, index: number): Run[] {
  const spans = new RunSpans({ learner: learner.name, version: '0.1.0' });
  const runs: Run[] = [];
  let clock = T0 + index * 1000;
  const add = (r: ExerciseResult, command: 'check' | 'learn', started: boolean): void => {
    clock += 60_000;
    runs.push({ at: clock, spans: spans.spansOf(r, { command, started, endedAt: clock, workshop: 'Generated' }) });
  };
  for (const exercise of EXERCISES) {
    const { state, failing } = learner.truth[exercise.id];
    if (state === 'no-result') continue;
    if (state === 'not-started') {
      add(result(exercise, 'fail', [exercise.checks[0]]), 'check', false);
      add(result(exercise, 'fail', exercise.checks), 'check', false);
    } else if (state === 'skipped') {
      add(result(exercise, 'fail', [exercise.checks[0]]), 'learn', true);
      add(result(exercise, 'skipped', []), 'check', true);
    } else if (state === 'passed') {
      // Failed first, then passed; some learners passed, broke it, and passed again.
      add(result(exercise, 'fail', [exercise.checks[0]], true), 'learn', true);
      if (index % 3 === 0) add(result(exercise, 'pass', [], true), 'learn', true);
      if (index % 3 === 0) add(result(exercise, 'fail', [exercise.checks[1]]), 'learn', true);
      add(result(exercise, 'pass', [], true), 'learn', true);
    } else {
      // Stuck: a pass once does not count when the latest run fails.
      if (index % 4 === 0) add(result(exercise, 'pass', []), 'learn', true);
      add(result(exercise, 'fail', exercise.checks, true), 'learn', true);
      add(result(exercise, failing.at(-1) === exercise.checks.at(-1) ? 'error' : 'fail', failing, true), 'learn', true);
    }
  }
  return runs;
}

/**
 * What the Collector's OTLP JSON encoder writes differs from the JS serializer in form only: 64-bit
 * integers as strings, empty strings for absent ids, an empty object for an unset status.
 */
export function asCollectorWrites(request: unknown): unknown {
  const walk = (value: unknown, key?: string): unknown => {
    if (Array.isArray(value)) return value.map((v) => walk(v));
    if (typeof value !== 'object' || value === null) return key === 'intValue' && typeof value === 'number' ? String(value) : value;
    const object = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(object)) {
      if (k === 'droppedAttributesCount' || k === 'droppedEventsCount' || k === 'droppedLinksCount') continue;
      out[k] = k === 'status' && typeof v === 'object' && v !== null && (v as { code?: number }).code === 0 ? {} : walk(v, k);
    }
    if ('spanId' in object && 'name' in object && !('parentSpanId' in object)) out['parentSpanId'] = '';
    return out;
  };
  return walk(request);
}

/** Every learner's runs, in time order, as JSON lines of export requests that mix learners, the way a Collector batches them. */
export function collectorLines(learners: readonly Learner[], runsPerLine = 40): string {
  const runs = learners.flatMap((l, i) => runsOf(l, i)).sort((a, b) => a.at - b.at);
  const lines: string[] = [];
  for (let i = 0; i < runs.length; i += runsPerLine) {
    const spans = runs.slice(i, i + runsPerLine).flatMap((r) => r.spans);
    const bytes = JsonTraceSerializer.serializeRequest(spans);
    lines.push(JSON.stringify(asCollectorWrites(JSON.parse(Buffer.from(bytes ?? new Uint8Array()).toString('utf8')))));
  }
  return `${lines.join('\n')}\n`;
}

/** How many runs collectorLines writes for these learners. */
export function runCount(learners: readonly Learner[]): number {
  return learners.reduce((sum, l, i) => sum + runsOf(l, i).length, 0);
}
