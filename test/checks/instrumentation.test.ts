import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Grader } from '../../src/runner/grader.ts';
import { INSTRUMENTATION_AUTHORING } from '../../src/checks/instrumentation.ts';
import { copyWorkbook, REPO_ROOT, runCli } from '../support/workbook.ts';

const INSTRUMENTED = path.join(REPO_ROOT, 'test', 'fixtures', 'instrumented');

// The local servers of the project's machines and CI (PostgreSQL, not the embedded PGlite: the
// instrumentation must be seen against the real server).
const SERVERS = {
  WORKBOOK_POSTGRES_URL: 'postgres://postgres@127.0.0.1:5432/test',
  WORKBOOK_REDIS_URL: 'redis://127.0.0.1:6379',
  WORKBOOK_RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672',
};

interface JsonReport {
  exercises: { id: string; status: string; message?: string; tests: { name: string; status: string; message?: string; output?: string }[] }[];
}

describe('instrumentation packages under the real grader', () => {
  let workbook: Awaited<ReturnType<typeof copyWorkbook>>;
  let report: JsonReport;
  const exercise = (id: string): JsonReport['exercises'][number] => {
    const found = report.exercises.find((e) => e.id === id);
    if (!found) throw new Error(`no result for ${id}`);
    return found;
  };

  beforeAll(async () => {
    workbook = await copyWorkbook(INSTRUMENTED);
    const run = await runCli(['check', '--root', workbook.root, '--track', 'clients', '--track', 'wired', '--json'], { env: SERVERS });
    report = JSON.parse(run.stdout) as JsonReport;
  }, 120_000);
  afterAll(() => workbook.remove());

  it('gets the CLIENT spans of pg and ioredis under the learner\'s span, with the code under test imported statically', () => {
    expect(exercise('pg-query')).toMatchObject({ status: 'pass' });
    expect(exercise('redis-cache')).toMatchObject({ status: 'pass' });
  });

  it('gets the PRODUCER span of amqplib when the code under test is loaded after the instrumentation (importTarget)', () => {
    expect(exercise('amqp-publish')).toMatchObject({ status: 'pass' });
  });

  it('tells the author when amqplib was loaded before its instrumentation, instead of grading a trace with no spans', () => {
    const early = exercise('amqp-loaded-early');
    expect(early.status).toBe('error');
    expect(early.message).toContain(INSTRUMENTATION_AUTHORING.loadedTooEarly(['amqplib'], '@opentelemetry/instrumentation-amqplib'));
  });

  it('sees the learner\'s own wiring of instrumentation-pg when it is enabled before pg loads', () => {
    // A module of its own imported before pg, a require after registering, or a dynamic import after registering.
    for (const id of ['separate-module', 'create-require', 'dynamic-import']) expect(exercise(id), id).toMatchObject({ status: 'pass' });
  });

  it('sees no pg spans when the learner registers after a static import of pg, or the checker loads pg first', () => {
    for (const id of ['same-module', 'checker-loads-pg-first']) {
      const result = exercise(id);
      expect(result.status, id).toBe('fail');
      expect(result.tests[0]?.message, id).toContain('child span /^pg\\.query/ is missing under "load" (children: none)');
    }
  });
});

describe('processes, OTLP and metrics under the real grader', () => {
  let workbook: Awaited<ReturnType<typeof copyWorkbook>>;
  let grader: Grader;
  beforeAll(async () => {
    workbook = await copyWorkbook(INSTRUMENTED);
    grader = new Grader({ root: workbook.root, target: 'exercises', testTimeoutMs: 10_000, isolate: true });
  });
  afterAll(async () => {
    await grader.close();
    await workbook.remove();
  });
  const checker = (name: string): string => path.join(workbook.root, 'checker', name);

  it('receives the spans of the learner\'s service process, and draws them with a failing check', async () => {
    const file = checker('03-processes/01-otlp-service.test.ts');
    const { results } = await grader.run([file]);
    const result = results.get(file);
    expect(result?.tests.map((t) => t.status)).toEqual(['pass', 'fail']);
    const wrong = result?.tests[1];
    expect(wrong?.message).toContain('child span "save-order" is missing under "GET /orders/:id" (children: "load-order")');
    // The received trace travels with the verdict, with the process's resource on each span.
    const drawn = wrong?.traces?.flatMap((t) => t.spans) ?? [];
    expect(drawn.map((s) => s.name).sort()).toEqual(['GET /orders/:id', 'load-order']);
    expect(drawn.every((s) => s.resource?.['service.name'] === 'orders')).toBe(true);
  }, 60_000);

  it('says in words that the service exited before it was ready', async () => {
    const file = checker('03-processes/02-exits-early.test.ts');
    const { results } = await grader.run([file]);
    expect(results.get(file)?.tests[0]).toMatchObject({
      status: 'fail',
      message:
        'your service exited with code 1 before it was ready (it should print a line matching /listening on (\\d+)/); it printed:\n' +
        '    DATABASE_URL is not set',
    });
  }, 60_000);

  it('reads the metrics of instruments the learner\'s module made when it loaded, each check its own', async () => {
    const file = checker('03-processes/03-red-metrics.test.ts');
    const { results } = await grader.run([file]);
    expect(results.get(file)).toMatchObject({ status: 'pass' });
  }, 60_000);

  it('grades the saved code after a save, for code under test loaded with importTarget', async () => {
    const file = checker('01-clients/03-amqp-publish.test.ts');
    const env = { WORKBOOK_RABBITMQ_URL: SERVERS.WORKBOOK_RABBITMQ_URL };
    expect((await grader.run([file], env)).results.get(file)?.status).toBe('pass');
    const source = path.join(workbook.root, 'exercises', '01-clients', '03-amqp-publish', 'publisher.ts');
    await writeFile(source, (await readFile(source, 'utf8')).replace("'send-order'", "'send'"));
    grader.invalidate([source]);
    const after = (await grader.run([file], env)).results.get(file);
    expect(after?.status).toBe('fail');
    expect(after?.tests[0]?.message).toContain('no root span "send-order"');
  }, 60_000);
});
