import path from 'node:path';
import type { TestCase, TestModule } from 'vitest/node';
import type { SerializedError } from '@vitest/utils';
import type { TraceTree } from '../trace/model.ts';
import type { ModuleResult, TestResult, TestStatus } from './results.ts';

const TRACES_META_KEY = 'tracecraftTraces';

/** Error names that mean "a check's expectation was not met", as opposed to "the code crashed". */
const ASSERTION_NAMES = new Set(['AssertionError', 'TraceAssertionError']);
/** Learner faults the harness caught during a check: the check could not finish, so its status is `error`. */

export const VERDICTS = {
  timeout: (ms: number) =>
    `timed out after ${ms} ms: a promise in your code never settled (a missing await, resolve or end of a stream?)`,
  processExit: (code: string) =>
    `your code called process.exit(${code}). Exercises must not end the process: return or throw instead.`,
  noTests: 'the checker ran no checks',
  syntaxError: 'your code does not compile',
  importError: 'your code threw while it was being loaded',
  missingExport: 'a name the checker imports is not exported',
  unhandled: 'your code left a rejected promise or an error that nobody handled',
} as const;

export function moduleResult(module: TestModule, durationMs: number): ModuleResult {
  const tests = [...module.children.allTests()].map(testResult).filter((t): t is TestResult => t !== undefined);
  const moduleErrors = module.errors();
  if (moduleErrors.length > 0) {
    return { file: module.moduleId, status: 'error', message: moduleErrors.map(describeModuleError).join('\n\n'), tests, durationMs };
  }
  if (tests.length === 0) return { file: module.moduleId, status: 'error', message: VERDICTS.noTests, tests, durationMs };
  const status = tests.every((t) => t.status === 'pass') ? 'pass' : 'fail';
  return { file: module.moduleId, status, tests, durationMs };
}

function testResult(test: TestCase): TestResult | undefined {
  const result = test.result();
  if (result.state === 'skipped' || result.state === 'pending') return undefined;
  const traces = (test.meta() as Record<string, unknown>)[TRACES_META_KEY] as TraceTree[] | undefined;
  const base: TestResult = { name: test.fullName, status: 'pass', durationMs: test.diagnostic()?.duration };
  if (traces) base.traces = traces;
  if (result.state === 'passed') return base;
  const errors = result.errors ?? [];
  const status: TestStatus = errors.some((e) => isAssertion(e)) ? 'fail' : 'error';
  return { ...base, status, message: errors.map(describeTestError).join('\n\n') || 'the check failed' };
}

/**
 * An assertion, or an error caused by one: fast-check reports a failed property as a plain
 * Error whose cause is the assertion that failed on the counterexample.
 */
function isAssertion(error: SerializedError | undefined, depth = 0): boolean {
  if (!error || depth > 5) return false;
  return ASSERTION_NAMES.has(error.name ?? '') || isAssertion(error.cause, depth + 1);
}

function describeTestError(error: SerializedError & { diff?: string }): string {
  const message = error.message ?? String(error);
  const exit = /process\.exit (?:unexpectedly )?called with "?([^"\s]*)"?/.exec(message);
  if (exit) return VERDICTS.processExit(exit[1] ?? '');
  const timeout = /Test timed out in (\d+)ms/.exec(message);
  if (timeout) return VERDICTS.timeout(Number(timeout[1]));
  if (!ASSERTION_NAMES.has(error.name ?? '') && isAssertion(error)) {
    // A failed property: fast-check's summary (seed, counterexample), then the assertion itself.
    return `${strip(message).trimEnd()}\n\n${describeTestError(error.cause as SerializedError & { diff?: string })}`;
  }
  if (isAssertion(error)) {
    return strip(error.diff ? `${message}\n${error.diff}` : message);
  }
  if (error.name === 'UnhandledRejectionError') return message;
  return `${error.name ?? 'Error'}: ${strip(message)}${learnerFrame(error)}`;
}

/** The first stack frame in the learner's (or the solution's) code: where the crash happened. */
function learnerFrame(error: SerializedError): string {
  const frame = error.stacks?.find((s) => /\/(exercises|solutions)\//.test(s.file));
  if (!frame) return '';
  return `\n    at ${relative(frame.file)}:${frame.line}:${frame.column}`;
}

function relative(file: string): string {
  const match = /(?:^|\/)((?:exercises|solutions|checker)\/.*)$/.exec(file);
  return match?.[1] ?? path.basename(file);
}

/** A checker file that could not even load: the learner's code did not compile, import or export. */
function describeModuleError(error: SerializedError & { frame?: string; loc?: { file?: string; line?: number; column?: number } }): string {
  const message = error.message ?? String(error);
  // A rejection the harness caught after the last check (its afterAll hook).
  if (error.name === 'UnhandledRejectionError') return `${VERDICTS.unhandled}: ${message}`;
  if (error.name === 'MissingExportError' || /does not provide an export named/.test(message)) {
    return `${VERDICTS.missingExport}: ${message}`;
  }
  const transform = /^Transform failed with \d+ errors?:\s*/.exec(message);
  if (transform || error.name === 'SyntaxError' || error.frame !== undefined) {
    // Vite's message already holds the file, line, column and a code frame; keep it, minus the preamble.
    const body = strip(message.slice(transform?.[0].length ?? 0)).trimEnd();
    const where = error.loc?.file ? ` (${relative(error.loc.file)}:${error.loc.line ?? '?'}:${error.loc.column ?? '?'})` : '';
    const frame = error.frame && !body.includes(strip(error.frame).trim()) ? `\n${strip(error.frame)}` : '';
    return `${VERDICTS.syntaxError}${where}:\n${body}${frame}`;
  }
  const exit = /process\.exit (?:unexpectedly )?called with "?([^"\s]*)"?/.exec(message);
  if (exit) return VERDICTS.processExit(exit[1] ?? '');
  return `${VERDICTS.importError}: ${error.name ?? 'Error'}: ${message}${learnerFrame(error)}`;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

export function strip(text: string): string {
  return text.replace(ANSI, '');
}

export function unhandledMessage(error: SerializedError): string {
  return `${VERDICTS.unhandled}: ${error.name ?? 'Error'}: ${error.message}${learnerFrame(error)}`;
}
