import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { createVitest, type TestModule } from 'vitest/node';
import { trace } from '@opentelemetry/api';
import { CheckFailure, duplicateRegistrationMessage, expectAllEnded, spansNamed, useTracing } from '../../src/checks/index.ts';
import { GLOBALS_REPLACED } from '../../src/trace/harness.ts';

const otel = useTracing();
const resets = vi.spyOn(otel, 'reset');

describe('useTracing in a checker file', () => {
  it('returns the same harness when called again, without adding its hooks twice', () => {
    expect(useTracing()).toBe(otel);
    trace.getTracer('t').startSpan('first check').end();
    resets.mockClear();
  });

  it('resets the harness once before each check', () => {
    expect(resets).toHaveBeenCalledTimes(1);
    expect(otel.spans()).toEqual([]);
  });

  it('finds spans by name and fails on a span that was never ended', () => {
    trace.getTracer('t').startSpan('retry attempt 1').end();
    const open = trace.getTracer('t').startSpan('retry attempt 2');
    expect(spansNamed(otel, /^retry/).map((s) => s.name)).toEqual(['retry attempt 1', 'retry attempt 2']);
    expect(() => expectAllEnded(otel, 'retries end their spans')).toThrow(
      new CheckFailure(
        'retries end their spans: "retry attempt 2" was started but never ended. Call span.end(), in a finally block so a thrown error ends it too.',
      ),
    );
    open.end();
    expectAllEnded(otel);
  });
});

describe('duplicateRegistrationMessage', () => {
  it('names the API the learner tried to register', () => {
    expect(duplicateRegistrationMessage('Error: @opentelemetry/api: Attempted duplicate registration of API: trace')).toBe(
      'your code tried to register its own tracer provider, and OpenTelemetry refused ' +
        '("Error: @opentelemetry/api: Attempted duplicate registration of API: trace"). ' +
        'The workbook already installed one that records your spans: use trace.getTracer(name).',
    );
    expect(duplicateRegistrationMessage('Error: @opentelemetry/api: Attempted duplicate registration of API: propagation')).toContain(
      'its own propagator',
    );
  });
});

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** Runs the fixture checker files in one worker process, without isolation, as a bulk run of solutions does. */
async function runShared(files: string[]): Promise<Map<string, { state: string; message: string | undefined }>> {
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  const vitest = await createVitest(
    'test',
    {
      config: false,
      root: FIXTURES,
      include: ['*.check.ts'],
      watch: false,
      pool: 'forks',
      isolate: false,
      fileParallelism: false,
      maxWorkers: 1,
      reporters: [{}],
      cache: false,
    },
    // No cache: the fixtures folder must stay as it is in the repository.
    { logLevel: 'silent', server: { watch: null }, cacheDir: path.join(tmpdir(), 'tracecraft-trace-fixtures') },
    { stdout: quiet, stderr: quiet },
  );
  try {
    const project = vitest.getRootProject();
    const run = await vitest.runTestSpecifications(files.map((f) => project.createSpecification(path.join(FIXTURES, f))));
    return new Map(run.testModules.flatMap((module: TestModule) => [...module.children.allTests()]).map((test) => {
      const result = test.result();
      return [test.name, { state: result.state, message: result.errors?.[0]?.message }];
    }));
  } finally {
    await vitest.close();
  }
}

describe('checker files sharing one process', () => {
  it('each get their hooks, and the globals are verified after each check', async () => {
    const results = await runShared(['hooks-a.check.ts', 'hooks-b.check.ts', 'globals.check.ts']);
    expect(results.get('a: records a span')?.state).toBe('passed');
    expect(results.get('a: starts the next check with no spans')?.state).toBe('passed');
    expect(results.get('b: records a span')?.state).toBe('passed');
    expect(results.get('b: starts the next check with no spans')?.state).toBe('passed');
    expect(results.get('replaces the tracer provider')).toEqual({ state: 'failed', message: GLOBALS_REPLACED });
    expect(results.get('registers a provider of its own')).toEqual({
      state: 'failed',
      message: duplicateRegistrationMessage('Error: @opentelemetry/api: Attempted duplicate registration of API: trace'),
    });
    expect(results.get('is recorded again after the repair')?.state).toBe('passed');
  });
});
