/**
 * The trace harness wired into vitest's lifecycle: spans cleared before each check, globals
 * verified after it, each check's traces handed to the runner, and every rejection nobody
 * handled turned into a verdict.
 */
import { afterAll, afterEach, beforeAll, beforeEach, onTestFinished, TestRunner, type TestContext } from 'vitest';
import { traceHarness, type TraceHarness } from '../trace/harness.ts';
import { assertTrace } from '../trace/failure.ts';
import type { SpanShape } from '../trace/match.ts';
import type { SpanNode, TraceTree } from '../trace/model.ts';
import { CheckFailure, META } from './contract.ts';

/** The checker files whose hooks are installed: vitest without isolation shares this module between files. */
const hookedFiles = new WeakSet<object>();

/** For each API the learner may try to register again: what it is, and what to use instead. */
const DUPLICATES: Record<string, { what: string; instead: string }> = {
  trace: { what: 'tracer provider', instead: 'use trace.getTracer(name)' },
  context: { what: 'context manager', instead: 'use context.with / context.bind' },
  propagation: { what: 'propagator', instead: 'use propagation.inject / propagation.extract' },
  metrics: { what: 'meter provider', instead: 'use metrics.getMeter(name)' },
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

/** How long a file waits, after its last check, for timers the learner's code left behind. */
const LATE_TIMER_GRACE_MS = 250;

function pendingTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout' || kind === 'Immediate').length;
}

/** Resolves once no more timers are pending than `baseline`, or after `maxMs` (an interval never ends). */
async function timersSettled(baseline: number, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  while (pendingTimers() > baseline && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
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
      (context.task.meta as Record<string, unknown>)[META.traces] = harness.traces();
    });
  });
  const unhandled: Lost[] = [];
  const onRejection = (reason: unknown): void => void unhandled.push({ kind: 'rejection', reason });
  const onException = (reason: unknown): void => void unhandled.push({ kind: 'exception', reason });
  // With a listener of ours, vitest leaves unhandled rejections to us: every one must end in a verdict.
  process.on('unhandledRejection', onRejection);
  // An error thrown in a timer or a callback (after the last check, too) is the learner's code failing.
  process.on('uncaughtException', onException);
  const blameLost = async (): Promise<void> => {
    // Give a rejection that nobody awaited the turn it needs to be reported.
    await new Promise((resolve) => setImmediate(resolve));
    const [first] = unhandled.splice(0);
    if (first) throw new UnhandledRejectionError(unhandledMessage(first));
  };
  let timersBefore = 0;
  beforeAll(() => {
    timersBefore = pendingTimers();
  });
  afterAll(async () => {
    // A rejection that surfaces after the last check still fails the file, instead of vanishing.
    try {
      // Timers the learner's code left behind get a moment to fire: a late throw or exit is a verdict, not lost.
      await timersSettled(timersBefore, LATE_TIMER_GRACE_MS);
      await blameLost();
    } finally {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    }
  });
  afterEach(async () => {
    await blameLost();
    const replaced = harness.verifyGlobals();
    if (replaced) {
      harness.restoreGlobals();
      throw new CheckFailure(replaced);
    }
    const duplicate = harness.diagnostics().find((m) => /duplicate registration/i.test(m));
    if (duplicate) throw new CheckFailure(duplicateRegistrationMessage(duplicate));
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
    throw new CheckFailure(
      `${concept}: ${names} ${open.length === 1 ? 'was' : 'were'} started but never ended. Call span.end(), in a finally block so a thrown error ends it too.`,
    );
  }
}

/** Finds recorded spans by name (all traces), in start order. */
export function spansNamed(harness: TraceHarness, name: string | RegExp): SpanNode[] {
  return harness.spans().filter((s) => (typeof name === 'string' ? s.name === name : name.test(s.name)));
}

/** An error no check was waiting for: a rejection nobody handled, or a throw in a timer or a callback. */
interface Lost {
  kind: 'rejection' | 'exception';
  reason: unknown;
}

export const LOST_MESSAGES = {
  rejection: (detail: string) =>
    `your code left a rejected promise that nobody awaited or caught (${detail}). ` +
    'Await every promise you start, or attach a .catch() where it is really meant to run in the background.',
  exception: (detail: string) =>
    `your code threw ${detail} in a timer or a callback that no check was waiting for (after the check that started it, maybe after the last one). ` +
    'Catch errors where the timer or callback runs, and clear timers your code no longer needs.',
  exit: (code: string) =>
    `your code called process.exit(${code}) in a timer or a callback. Exercises must not end the process: return or throw instead.`,
} as const;

/** Where in the learner's code an error was thrown, when the stack says. */
function learnerFrame(error: unknown): string {
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  const frame = /(?:exercises|solutions)\/[^\s)]+:\d+:\d+/.exec(stack)?.[0];
  return frame ? ` at ${frame}` : '';
}

function unhandledMessage({ kind, reason }: Lost): string {
  const detail = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
  const exit = /process\.exit (?:unexpectedly )?called with "?([^"\s]*)"?/.exec(detail);
  if (exit) return LOST_MESSAGES.exit(exit[1] ?? '');
  return kind === 'rejection' ? LOST_MESSAGES.rejection(detail) : LOST_MESSAGES.exception(`"${detail}"${learnerFrame(reason)}`);
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

