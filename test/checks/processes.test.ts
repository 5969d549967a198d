import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleEntry, CheckFailure, startProcess } from '../../src/checks/index.ts';
import { PROCESS_MESSAGES } from '../../src/checks/processes.ts';
import { REPO_ROOT } from '../support/workbook.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'processes');
const fixture = (name: string): string => path.join(FIXTURES, name);
const LISTENING = /listening on (\d+)/;

/** Whether a process is gone (or a zombie nobody reaped yet: dead all the same). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

/** The failure a promise rejected with, as a CheckFailure (anything else fails the test). */
async function failure(promise: Promise<unknown>): Promise<CheckFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckFailure);
  return error as CheckFailure;
}

describe('startProcess', () => {
  const developerEndpoint = process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
  beforeAll(() => {
    // A developer's shell may carry this for their day job: it must never reach a check's process.
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = 'http://127.0.0.1:1/not-for-checks';
  });
  afterAll(() => {
    if (developerEndpoint === undefined) delete process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
    else process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = developerEndpoint;
  });

  it('starts a bundled .ts entry with its environment, waits for the ready line and reads the port from it', async () => {
    const service = await startProcess(fixture('echo-env.ts'), { env: { GREETING: 'hello', OTEL_SERVICE_NAME: 'echo' }, ready: LISTENING });
    expect(service.port).toBeGreaterThan(0);
    expect(service.url).toBe(`http://127.0.0.1:${service.port}`);
    expect(await (await fetch(`${service.url}/`)).text()).toBe('hello');
    const output = service.output();
    expect(output).toContain('greeting=hello');
    // Inherited OTEL_* variables are dropped; the ones the check gives are kept.
    expect(output).toContain('otel=OTEL_SERVICE_NAME');
    // #kit is bundled in, and import.meta.url still names the source file.
    expect(output).toContain('kit=number');
    expect(output).toContain('url=test/fixtures/processes/echo-env.ts');
    expect(output).not.toContain(pathToFileURL(REPO_ROOT).href);
  });

  it('stops a process with SIGTERM and tells how it exited', async () => {
    const service = await startProcess(fixture('echo-env.ts'), { ready: LISTENING });
    expect(service.exit).toBeUndefined();
    const exit = await service.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(service.lastLines(2)).toContain('stopping gracefully');
  });

  let lingering = 0;
  it('kills the process when the check ends (1/2: leaves one running)', async () => {
    const service = await startProcess(fixture('silent.ts'));
    lingering = service.pid;
    expect(gone(lingering)).toBe(false);
  });

  it('kills the process when the check ends (2/2: it is gone)', () => {
    expect(lingering).toBeGreaterThan(0);
    expect(gone(lingering)).toBe(true);
  });

  it('says in words when the process exits before it is ready, with what it printed', async () => {
    const error = await failure(startProcess(fixture('exits-early.ts'), { ready: LISTENING }));
    expect(error.message).toBe(
      'your service exited with code 3 before it was ready (it should print a line matching /listening on (\\d+)/); it printed:\n' +
        '    reading the configuration\n' +
        '    PORT is not set',
    );
  });

  it('points at the line of the learner\'s source when the process throws, not at the bundle', async () => {
    const error = await failure(startProcess(fixture('throws.ts'), { name: 'the relay', ready: LISTENING }));
    expect(error.message).toMatch(/^the relay exited with code 1 before it was ready/);
    expect(error.message).toContain('Error: the configuration is missing');
    expect(error.message).toContain('test/fixtures/processes/throws.ts:2');
    expect(error.message).not.toContain('node:internal');
    expect(error.message).not.toContain(REPO_ROOT);
  });

  it('fails with esbuild\'s message, file and line when the entry does not compile', async () => {
    const error = await failure(startProcess(fixture('broken.ts'), { ready: LISTENING }));
    expect(error.message).toMatch(/^your service does not compile:\n/);
    expect(error.message).toContain('test/fixtures/processes/broken.ts:2:12:');
    expect(error.message).toContain('return 1 +;');
    expect(error.message).not.toContain(REPO_ROOT);
  });

  it('fails when the ready line does not come in time', async () => {
    const error = await failure(startProcess(fixture('silent.ts'), { ready: LISTENING, readyTimeoutMs: 1500 }));
    expect(error.message).toBe('your service did not print a line matching /listening on (\\d+)/ within 1500 ms; it printed:\n    waiting');
  });

  it('fails when the process is still running after the wait for its exit', async () => {
    const service = await startProcess(fixture('silent.ts'), { ready: /waiting/ });
    service.signal('SIGTERM');
    await service.waitForOutput(/ignoring SIGTERM/);
    const error = await failure(service.waitForExit({ timeoutMs: 300, after: 'after SIGTERM' }));
    expect(error.message).toBe('your service was still running 300 ms after SIGTERM; it printed:\n    waiting\n    ignoring SIGTERM');
  });

  it('keeps the most recent output of a process that prints a lot, and says how much was cut', async () => {
    const service = await startProcess(fixture('floods.ts'), { ready: LISTENING, maxOutputChars: 4096 });
    const output = service.output();
    expect(output.length).toBeLessThan(4200);
    expect(output).toMatch(/^\(… \d+ characters cut\)\n/);
    expect(output.endsWith('listening on 1')).toBe(true);
    expect(service.port).toBe(1);
  });

  it('waits for a later line of output', async () => {
    const service = await startProcess(fixture('echo-env.ts'), { ready: LISTENING });
    service.signal('SIGTERM');
    const match = await service.waitForOutput(/stopping (\w+)/);
    expect(match[1]).toBe('gracefully');
    const error = await failure(service.waitForOutput(/never printed/, { timeoutMs: 2000, what: 'the shutdown' }));
    expect(error.message).toMatch(/^the shutdown: expected a line matching \/never printed\/, but the process exited with code 0 first; it printed:/);
  });

  it('reuses the bundle of unchanged code, kept in the workbook\'s .workbook/processes', async () => {
    const first = await bundleEntry(fixture('echo-env.ts'));
    const second = await bundleEntry(fixture('echo-env.ts'));
    expect(second).toBe(first);
    expect(path.dirname(first)).toBe(path.join(REPO_ROOT, '.workbook', 'processes'));
    expect(existsSync(first)).toBe(true);
  });
});

describe('startProcess outside a check', () => {
  let error: unknown;
  beforeAll(async () => {
    error = await startProcess(fixture('silent.ts')).catch((e: unknown) => e);
  });
  it('refuses, so that no process outlives the check that started it', () => {
    expect((error as Error).message).toBe(PROCESS_MESSAGES.outsideCheck);
  });
});
