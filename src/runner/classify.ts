import { stripVTControlCharacters } from 'node:util';
import path from 'node:path';
import type { TestCase, TestModule } from 'vitest/node';
import type { SerializedError } from '@vitest/utils';
import { isMarkedFailure, META, type CheckMeta } from '../checks/contract.ts';
import type { CapturedOutput, ModuleResult, TestResult, TestStatus } from './results.ts';

/** chai's name for a failed `expect`: still a failed check when an author uses vitest's own expect. */
const CHAI_ASSERTION = 'AssertionError';

export const VERDICTS = {
  timeout: (ms: number) =>
    `timed out after ${ms} ms: a promise in your code never settled (a missing await, resolve or end of a stream?)`,
  processExit: (code: string) =>
    `your code called process.exit(${code}). Exercises must not end the process: return or throw instead.`,
  noTests: 'the checker ran no checks',
  author: 'the checks themselves could not run (a mistake in the exercise, not in your code; please report it)',
  syntaxError: 'your code does not compile',
  importError: 'your code threw while it was being loaded',
  missingExport: 'a name the checker imports is not exported',
  unhandled: 'your code left a rejected promise or an error that nobody handled',
} as const;

/** Vitest's words when code calls process.exit in a worker. */
const PROCESS_EXIT = /process\.exit (?:unexpectedly )?called with "?([^"\s]*)"?/;

type Output = { tests: Map<string, CapturedOutput>; module: CapturedOutput | undefined };

export function moduleResult(module: TestModule, durationMs: number, output: Output = { tests: new Map(), module: undefined }): ModuleResult {
  const tests = [...module.children.allTests()].map((t) => testResult(t, output.tests.get(t.id))).filter((t): t is TestResult => t !== undefined);
  const loaded = output.module && output.module.text.length > 0 ? { output: output.module } : {};
  const moduleErrors = module.errors();
  if (moduleErrors.length > 0) {
    return { file: module.moduleId, status: 'error', message: moduleErrors.map(describeModuleError).join('\n\n'), tests, durationMs, ...loaded };
  }
  if (tests.length === 0) return { file: module.moduleId, status: 'error', message: VERDICTS.noTests, tests, durationMs, ...loaded };
  const status = tests.every((t) => t.status === 'pass') ? 'pass' : 'fail';
  return { file: module.moduleId, status, tests, durationMs, ...loaded };
}

function testResult(test: TestCase, output: CapturedOutput | undefined): TestResult | undefined {
  const result = test.result();
  if (result.state === 'skipped' || result.state === 'pending') return undefined;
  const meta = test.meta() as CheckMeta;
  const base: TestResult = { name: test.fullName, status: 'pass', durationMs: test.diagnostic()?.duration };
  const traces = meta[META.traces];
  if (traces) base.traces = traces;
  if (output && output.text.length > 0) base.output = output;
  if (result.state === 'passed') return base;
  const errors = result.errors ?? [];
  const status: TestStatus = errors.some((e) => isAssertion(e)) ? 'fail' : 'error';
  const failure = errors.map((e) => (isMarkedFailure(e) ? e.details : undefined)).find((d) => d !== undefined);
  return { ...base, status, message: errors.map(describeTestError).join('\n\n') || 'the check failed', ...(failure ? { failure } : {}) };
}

/**
 * An assertion, or an error caused by one: fast-check reports a failed property as a plain
 * Error whose cause is the assertion that failed on the counterexample.
 */
function isAssertion(error: SerializedError | undefined, depth = 0): boolean {
  if (!error || depth > 5) return false;
  return isMarkedFailure(error) || error.name === CHAI_ASSERTION || isAssertion(error.cause, depth + 1);
}

/** chai's own words, minus what only a framework author reads ("// Object.is equality"), with the values whole when chai cut them. */
function chaiMessage(error: SerializedError & { expected?: unknown; actual?: unknown }): string {
  const message = strip(error.message ?? '').replace(/\s*\/\/ Object\.is equality\s*$/, '');
  const cut = /…\(\d+\)|\.\.\.\(\d+\)/.test(message);
  const oneLine = (value: unknown): string => (typeof value === 'string' ? strip(value).replace(/\s*\n\s*/g, ' ') : String(value));
  if (!cut || typeof error.expected !== 'string' || typeof error.actual !== 'string') return message;
  return `${message}\n  expected: ${oneLine(error.expected)}\n  got:      ${oneLine(error.actual)}`;
}

function describeTestError(error: SerializedError & { diff?: string }): string {
  const message = error.message ?? String(error);
  const exit = PROCESS_EXIT.exec(message);
  if (exit) return VERDICTS.processExit(exit[1] ?? '');
  const timeout = /Test timed out in (\d+)ms/.exec(message);
  if (timeout) return VERDICTS.timeout(Number(timeout[1]));
  if (isMarkedFailure(error)) return strip(message);
  if (error.name === CHAI_ASSERTION) return chaiMessage(error);
  if (isAssertion(error)) {
    // A failed property run with fast-check directly: its summary (seed, counterexample), then the assertion itself.
    return `${strip(message).trimEnd()}\n\n${describeTestError(error.cause as SerializedError & { diff?: string })}`;
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
  if (error.name === 'UnhandledRejectionError') return message;
  if (error.name === 'AuthorError') return `${VERDICTS.author}: ${message}`;
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
  const exit = PROCESS_EXIT.exec(message);
  if (exit) return VERDICTS.processExit(exit[1] ?? '');
  return `${VERDICTS.importError}: ${error.name ?? 'Error'}: ${message}${learnerFrame(error)}`;
}

/** Text without terminal escapes (colours, links). */
export function strip(text: string): string {
  return stripVTControlCharacters(text);
}

/** An error no check was waiting for: thrown in a timer or a callback, maybe after the last check. */
export function unhandledMessage(error: SerializedError): string {
  const exit = PROCESS_EXIT.exec(error.message ?? '');
  if (exit) return VERDICTS.processExit(exit[1] ?? '');
  return `${VERDICTS.unhandled}: ${error.name ?? 'Error'}: ${error.message}${learnerFrame(error)}`;
}
