/**
 * What checker files import (as `#checks`): the trace harness wired into vitest's
 * lifecycle, trace assertions that explain themselves, and small helpers for
 * randomized inputs. Learners never import this; their code only uses @opentelemetry/api.
 */
import { afterAll, afterEach, beforeEach, onTestFinished, TestRunner, type TestContext } from 'vitest';
import { traceHarness, type TraceHarness } from './harness.ts';
import { assertTrace, TraceAssertionError } from './failure.ts';
import type { SpanShape } from './match.ts';
import type { SpanNode, TraceTree } from './model.ts';
import { diagnose } from './diagnose.ts';

export type { SpanShape, EventShape, LinkShape } from './match.ts';
export type { SpanNode, TraceTree } from './model.ts';
export type { TraceHarness } from './harness.ts';
export { absent, present, anyNumber, anyString, oneOf, where, between } from './expect-values.ts';
export { TraceAssertionError } from './failure.ts';
export * from '../checks/imports.ts';

/** The key under which each test's traces travel to the runner, so the CLI can draw them. */
export const TRACES_META_KEY = 'tracecraftTraces';

/** The checker files whose hooks are installed: vitest without isolation shares this module between files. */
const hookedFiles = new WeakSet<object>();

/** For each API the learner may try to register again: what it is, and what to use instead. */
const DUPLICATES: Record<string, { what: string; instead: string }> = {
  trace: { what: 'tracer provider', instead: 'use trace.getTracer(name)' },
  context: { what: 'context manager', instead: 'use context.with / context.bind' },
  propagation: { what: 'propagator', instead: 'use propagation.inject / propagation.extract' },
};

/** What the learner reads when their code registered its own globals next to the workbook's. */
export function duplicateRegistrationMessage(diagnostic: string): string {
  const api = /registration of API: (\w+)/i.exec(diagnostic)?.[1] ?? 'trace';
  const { what, instead } = DUPLICATES[api] ?? { what: `${api} API`, instead: 'leave the globals alone' };
  return (
    `your code tried to register its own ${what}, and OpenTelemetry refused ("${diagnostic}"). ` +
    `The workbook already installed one that records your spans: ${instead}.`
  );
}

/**
 * Installs the harness for this checker file: spans are cleared before each test, and
 * after each test the globals are verified and the test's traces are handed to the runner.
 * Calling it again in the same file returns the same harness without adding hooks twice.
 */
export function useTracing(): TraceHarness {
  const harness = traceHarness();
  const file = TestRunner.getCurrentSuite().file;
  if (hookedFiles.has(file)) return harness;
  hookedFiles.add(file);
  beforeEach((context: TestContext) => {
    harness.reset();
    onTestFinished(() => {
      (context.task.meta as Record<string, unknown>)[TRACES_META_KEY] = harness.traces();
    });
  });
  const unhandled: unknown[] = [];
  const onRejection = (reason: unknown): void => void unhandled.push(reason);
  // With a listener of ours, vitest leaves unhandled rejections to us: every one must end in a verdict.
  process.on('unhandledRejection', onRejection);
  const blameLost = async (): Promise<void> => {
    // Give a rejection that nobody awaited the turn it needs to be reported.
    await new Promise((resolve) => setImmediate(resolve));
    const lost = unhandled.splice(0);
    if (lost.length > 0) throw new UnhandledRejectionError(unhandledMessage(lost[0]));
  };
  afterAll(async () => {
    // A rejection that surfaces after the last check still fails the file, instead of vanishing.
    try {
      await blameLost();
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });
  afterEach(async () => {
    await blameLost();
    const replaced = harness.verifyGlobals();
    if (replaced) {
      harness.restoreGlobals();
      throw new TraceAssertionError(replaced, undefined);
    }
    const duplicate = harness.diagnostics().find((m) => /duplicate registration/i.test(m));
    if (duplicate) throw new TraceAssertionError(duplicateRegistrationMessage(duplicate), undefined);
  });
  return harness;
}

/**
 * Asserts that one of the recorded traces has a root span matching `shape`.
 * `concept` names what the check is about; it starts the failure message.
 */
export function expectTrace(harness: TraceHarness | readonly TraceTree[], shape: SpanShape, concept: string): TraceTree {
  const traces = Array.isArray(harness) ? (harness as readonly TraceTree[]) : (harness as TraceHarness).traces();
  return assertTrace(traces, shape, concept);
}

/** Asserts that every started span was ended. */
export function expectAllEnded(harness: TraceHarness, concept = 'spans must end'): void {
  const open = harness.spans().filter((s) => !s.ended);
  if (open.length > 0) {
    const names = open.map((s) => `"${s.name}"`).join(', ');
    throw new TraceAssertionError(
      `${concept}: ${names} ${open.length === 1 ? 'was' : 'were'} started but never ended. Call span.end(), in a finally block so a thrown error ends it too.`,
      undefined,
    );
  }
}

/** Finds recorded spans by name (all traces), in start order. */
export function spansNamed(harness: TraceHarness, name: string | RegExp): SpanNode[] {
  return harness.spans().filter((s) => (typeof name === 'string' ? s.name === name : name.test(s.name)));
}

/** Fails with the concept and the named mistakes found in the recorded traces. */
export function traceFailure(harness: TraceHarness, message: string): TraceAssertionError {
  const findings = diagnose(harness.traces());
  return new TraceAssertionError(
    [message, ...findings.map((f) => `hint: ${f}`)].join('\n'),
    undefined,
  );
}

function unhandledMessage(reason: unknown): string {
  const detail = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
  return (
    `your code left a rejected promise that nobody awaited or caught (${detail}). ` +
    'Await every promise you start, or attach a .catch() where it is really meant to run in the background.'
  );
}

/** The learner's code rejected a promise nobody handled during a check. */
export class UnhandledRejectionError extends Error {
  override readonly name = 'UnhandledRejectionError';
}

/** A name the checker imports is not exported by the learner's module. */
export class MissingExportError extends Error {
  override readonly name = 'MissingExportError';
}

/**
 * Called (by the runner's rewrite of each checker file) with the names a checker imports from
 * the learner's module, before any check runs.
 */
export function requireExports(module: Record<string, unknown>, names: readonly string[], file: string): void {
  const missing = names.filter((name) => module[name] === undefined);
  if (missing.length === 0) return;
  const list = missing.map((n) => `"${n}"`).join(', ');
  const exported = Object.keys(module).filter((k) => k !== 'default');
  throw new MissingExportError(
    `${file} does not export ${list}. The checks need ${missing.length === 1 ? 'it' : 'them'} exported with exactly ${missing.length === 1 ? 'that name' : 'those names'}` +
      (exported.length > 0 ? ` (it exports: ${exported.join(', ')}).` : ' (it exports nothing).'),
  );
}

/** Small helpers for randomized inputs: hard-coded answers must not pass. */
export const random = {
  int(min: number, max: number): number {
    return min + Math.floor(Math.random() * (max - min + 1));
  },
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(Math.random() * items.length)];
    if (item === undefined) throw new Error('random.pick needs at least one item');
    return item;
  },
  word(length = 6): string {
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    return Array.from({ length }, () => letters[Math.floor(Math.random() * letters.length)]).join('');
  },
  id(prefix = ''): string {
    return `${prefix}${Math.random().toString(36).slice(2, 10)}`;
  },
};
