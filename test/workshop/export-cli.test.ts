import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver } from '../../src/trace/otlp-receiver.ts';
import type { SpanNode } from '../../src/trace/model.ts';
import { LINK_CHECK, RUN_ATTRIBUTES } from '../../src/workshop/run-attributes.ts';
import { CLI, copyWorkbook } from '../support/workbook.ts';

/** The variables that would turn export on or name the learner, cleared so the machine's own shell cannot leak in. */
const QUIET_ENV: Record<string, string> = {
  NO_COLOR: '1',
  OTEL_EXPORTER_OTLP_ENDPOINT: '',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
  OTEL_EXPORTER_OTLP_HEADERS: '',
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: '',
  OTEL_SDK_DISABLED: '',
  OTEL_TRACES_EXPORTER: '',
  WORKBOOK_EXPORT: '',
  WORKBOOK_LEARNER: 'Ada Lovelace',
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from start to exit. */
  ms: number;
}

/** The real CLI, as `npm run check` starts it, with the quiet environment plus `env`. */
function cli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...QUIET_ENV, ...env }, maxBuffer: 20 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error && typeof error.code === 'number' ? error.code : error ? null : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** The CLI with stdout and stderr into one file, so the order of what it said is the order it said it. */
function cliCombined(args: string[], env: Record<string, string>, file: string): Promise<{ code: number | null; text: string; ms: number }> {
  const fd = openSync(file, 'w');
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...QUIET_ENV, ...env }, stdio: ['ignore', fd, fd] });
    child.on('exit', (code) => {
      closeSync(fd);
      resolve({ code, text: readFileSync(file, 'utf8'), ms: Date.now() - started });
    });
  });
}

/** What a --json verdict says, without what differs from run to run (the time, the durations). */
function verdictOf(json: string): unknown {
  const report = JSON.parse(json) as { at?: string; exercises: { tests: { durationMs?: number }[] }[] };
  delete report.at;
  for (const e of report.exercises) for (const t of e.tests) delete t.durationMs;
  return report;
}

const runSpans = (receiver: OtlpReceiver): SpanNode[] => receiver.spans().filter((s) => s.scope === 'tracecraft');
const learnerSpans = (receiver: OtlpReceiver): SpanNode[] => receiver.spans().filter((s) => s.scope !== 'tracecraft');

describe('check with the workshop export', () => {
  let workbook: Awaited<ReturnType<typeof copyWorkbook>>;
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    workbook = await copyWorkbook();
    const manifest = JSON.parse(await readFile(path.join(workbook.root, 'package.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(path.join(workbook.root, 'package.json'), JSON.stringify({ ...manifest, version: '3.1.4' }));
    receiver = await startOtlpReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await workbook.remove();
  });
  const check = (args: string[], env: Record<string, string> = {}): Promise<Run> => cli(['check', '--root', workbook.root, ...args], env);

  it('sends one span per graded run, with the verdict, and the traces the checks recorded, linked from it; it says so first', async () => {
    await receiver.setMode('normal');
    receiver.reset();
    const run = await check(['wrong-span', 'passes', '--json'], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_HEADERS: 'x-workshop-token=lisbon-2026' });
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')[0]).toBe(
      `tracecraft: export is on: each graded run and the traces your code recorded go to ${receiver.tracesUrl} ` +
        '(set by OTEL_EXPORTER_OTLP_ENDPOINT, with the headers in OTEL_EXPORTER_OTLP_HEADERS), as learner "Ada Lovelace". ' +
        'To keep them here, add --no-export or set WORKBOOK_EXPORT=off.',
    );
    expect(run.stderr.trim().split('\n'), 'nothing else on stderr: the backend answered').toHaveLength(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ learner: 'Ada Lovelace', status: 'fail' });
    const requests = receiver.requests();
    expect(requests.length).toBeGreaterThan(0);
    for (const request of requests) expect(request.headers['x-workshop-token']).toBe('lisbon-2026');

    const runs = runSpans(receiver);
    expect(runs.map((s) => s.name).sort()).toEqual(['check passes', 'check wrong-span']);
    const wrong = runs.find((s) => s.name === 'check wrong-span')!;
    expect(wrong.attributes).toEqual({
      [RUN_ATTRIBUTES.learner]: 'Ada Lovelace',
      [RUN_ATTRIBUTES.exercise]: 'wrong-span',
      [RUN_ATTRIBUTES.track]: 'pictures',
      [RUN_ATTRIBUTES.verdict]: 'fail',
      [RUN_ATTRIBUTES.passed]: 2,
      [RUN_ATTRIBUTES.total]: 3,
      [RUN_ATTRIBUTES.firstFailed]: 'records the order id on the handle span',
      [RUN_ATTRIBUTES.failed]: ['records the order id on the handle span'],
      [RUN_ATTRIBUTES.traces]: 2,
      [RUN_ATTRIBUTES.command]: 'check',
      [RUN_ATTRIBUTES.started]: false,
    });
    expect(wrong.status).toBe('error');
    expect(wrong.resource).toEqual({ 'service.name': 'tracecraft', 'service.version': '3.1.4', 'tracecraft.learner': 'Ada Lovelace' });
    const passes = runs.find((s) => s.name === 'check passes')!;
    expect(passes.attributes).toMatchObject({ [RUN_ATTRIBUTES.verdict]: 'pass', [RUN_ATTRIBUTES.passed]: 3, [RUN_ATTRIBUTES.total]: 3 });
    expect(passes.status).toBe('unset');

    // The learner's own traces, span for span, each linked from the run with the check that recorded it.
    const learner = learnerSpans(receiver);
    expect(learner.map((s) => s.name).sort()).toEqual(['handle order', 'handle order', 'load order from the order store', 'load order from the order store']);
    const roots = learner.filter((s) => s.name === 'handle order');
    for (const root of roots) expect(learner.find((s) => s.name !== 'handle order' && s.traceId === root.traceId)?.parentSpanId).toBe(root.spanId);
    expect(wrong.links.map((l) => [l.spanId, l.attributes[LINK_CHECK]]).sort()).toEqual(
      roots.map((r) => [r.spanId, expect.any(String)]).sort(),
    );
    expect(new Set(wrong.links.map((l) => l.attributes[LINK_CHECK]))).toEqual(new Set(['answers with the order id', 'records the order id on the handle span']));
  });

  it('leaves the verdict and its timing unchanged when the receiver is down or slow, and says so in one line, once, after the verdict', async () => {
    const off = await check(['wrong-span', 'passes', '--json']);
    expect(off.code).toBe(1);
    expect(off.stderr).toBe('');
    const slowMs = 30_000;
    for (const mode of ['down', 'slow'] as const) {
      await receiver.setMode(mode === 'slow' ? { mode: 'slow', delayMs: slowMs } : 'down');
      receiver.reset();
      const file = path.join(workbook.root, `combined-${mode}.txt`);
      const run = await cliCombined(['check', '--root', workbook.root, 'wrong-span', 'passes', '--json'], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, file);
      expect(run.code, mode).toBe(off.code);
      const lines = run.text.split('\n');
      expect(lines[0], mode).toMatch(/^tracecraft: export is on: /);
      const jsonEnd = lines.indexOf('}');
      expect(verdictOf(lines.slice(1, jsonEnd + 1).join('\n')), mode).toEqual(verdictOf(off.stdout));
      const problems = lines.filter((l) => l.startsWith(`tracecraft: could not send results to ${receiver.tracesUrl}: `));
      expect(problems, mode).toEqual([
        `tracecraft: could not send results to ${receiver.tracesUrl}: ${mode === 'down' ? 'nothing answers there (connection refused)' : 'it did not answer within 1000 ms'}. ` +
          'Grading is not affected; to stop sending, add --no-export or set WORKBOOK_EXPORT=off.',
      ]);
      expect(lines.indexOf(problems[0]!), `${mode}: the problem is said after the verdict`).toBeGreaterThan(jsonEnd);
      // A backend that answers in 30 s would hold the run 30 s if the export were waited for; it holds the exit one second at most.
      expect(run.ms, `${mode}: ${run.ms} ms against ${off.ms} ms with export off`).toBeLessThan(off.ms + 4000);
      if (mode === 'slow') {
        const [request] = receiver.requests();
        expect(request?.spans, 'the slow receiver got the spans, after the verdict').toBeGreaterThan(0);
      }
    }
    await receiver.setMode('normal');
  });

  it('sends nothing, and says nothing, when export is off: by default, with --no-export, with WORKBOOK_EXPORT=off, and for the reference solutions', async () => {
    await receiver.setMode('normal');
    receiver.reset();
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    const cases: [string, string[], Record<string, string>][] = [
      ['by default', ['passes'], {}],
      ['with --no-export', ['passes', '--no-export'], endpoint],
      ['with WORKBOOK_EXPORT=off', ['passes'], { ...endpoint, WORKBOOK_EXPORT: 'off' }],
      ['for the reference solutions', ['passes', '--solutions'], endpoint],
    ];
    for (const [what, args, env] of cases) {
      const run = await check(args, env);
      expect(run.code, what).toBe(0);
      expect(run.stderr, what).toBe('');
    }
    // Give a background export, if one had been started, the time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.requests()).toEqual([]);
  });

  it('does not load the exporter when export is off', async () => {
    const preload = path.join(workbook.root, 'list-modules.cjs');
    await writeFile(preload, "process.on('exit', () => require('node:fs').writeFileSync(process.env.MODULES_OUT + '.' + process.pid, Object.keys(require.cache).join('\\n')));\n");
    const out = path.join(workbook.root, 'modules');
    const loaded = async (env: Record<string, string>): Promise<string> => {
      const child = await new Promise<number>((resolve) => {
        const spawned = execFile(process.execPath, [CLI, 'check', '--root', workbook.root, 'passes'], { env: { ...process.env, ...QUIET_ENV, ...env, NODE_OPTIONS: `--require ${preload}`, MODULES_OUT: out } }, () =>
          resolve(spawned.pid ?? 0),
        );
      });
      return readFile(`${out}.${child}`, 'utf8');
    };
    expect(await loaded({})).not.toContain('exporter-trace-otlp-http');
    expect(await loaded({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url })).toContain('exporter-trace-otlp-http');
  });

  it('writes the traces of the run as OTLP JSON that an OTLP receiver takes, the same spans the export sent', async () => {
    await receiver.setMode('normal');
    receiver.reset();
    const file = path.join(workbook.root, 'wrong-span.trace.json');
    const run = await check(['wrong-span', '--trace-file', file], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`The traces of this run are in ${file} (5 spans, OTLP JSON): open it with "Upload JSON" in the Jaeger UI or "Import trace" in Grafana.`);
    // The file, posted to a second receiver as an exporter would: it must read exactly what the first one got.
    const second = await startOtlpReceiver();
    try {
      const answer = await fetch(second.tracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: await readFile(file, 'utf8') });
      expect(answer.status).toBe(200);
      const shape = (s: SpanNode) => ({ name: s.name, kind: s.kind, status: s.status, traceId: s.traceId, spanId: s.spanId, parent: s.parentSpanId, attributes: s.attributes, links: s.links, resource: s.resource, scope: s.scope });
      const sent = receiver.spans().map(shape).sort((a, b) => a.spanId.localeCompare(b.spanId));
      expect(sent).toHaveLength(5);
      expect(second.spans().map(shape).sort((a, b) => a.spanId.localeCompare(b.spanId))).toEqual(sent);
    } finally {
      await second.close();
    }
    const bad = await check(['passes', '--trace-file', path.join(workbook.root, 'no-such-folder', 'x.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`tracecraft: failed to write the trace file ${path.join(workbook.root, 'no-such-folder', 'x.json')}: ENOENT`);
  });

  it('grades the exercises of the workshop file, in its order, sends to its endpoint, and names the file and field of a mistake', async () => {
    await receiver.setMode('normal');
    receiver.reset();
    await writeFile(
      path.join(workbook.root, 'workshop.json'),
      JSON.stringify({ version: 1, title: 'Fixture workshop', exercises: ['pictures', 'passes'], solutionsBeforePass: false, otlp: receiver.url }),
    );
    try {
      const run = await check(['--json']);
      expect(run.stderr.split('\n')[0]).toContain(`go to ${receiver.tracesUrl} (set by workshop.json), as learner "Ada Lovelace"`);
      const report = JSON.parse(run.stdout) as { workshop: string; exercises: { id: string }[] };
      expect(report.workshop).toBe('Fixture workshop');
      expect(report.exercises.map((e) => e.id)).toEqual(['wrong-span', 'passes']);
      expect(runSpans(receiver).map((s) => s.attributes[RUN_ATTRIBUTES.workshop])).toEqual(['Fixture workshop', 'Fixture workshop']);

      const table = await check([], { WORKBOOK_EXPORT: 'off' });
      expect(table.stdout.indexOf('Pictures')).toBeLessThan(table.stdout.indexOf('Basics'));
      expect(table.stdout).not.toContain('Faults');
      expect(table.stdout).toContain('Total: 1 passed, 1 failed, 0 errored, 0 skipped (2 exercises)');

      // A named exercise is graded even when the workshop leaves it out.
      expect(JSON.parse((await check(['fails', '--json', '--no-export'])).stdout).exercises.map((e: { id: string }) => e.id)).toEqual(['fails']);

      const other = path.join(workbook.root, 'other-workshop.json');
      await writeFile(other, JSON.stringify({ version: 1, title: 'Other', exercises: ['pases'], solutionsBeforePass: true }));
      const broken = await check(['--workshop', other]);
      expect(broken.code).toBe(2);
      expect(broken.stderr).toBe('tracecraft: other-workshop.json: "exercises[0]" "pases" is neither an exercise nor a track of this workbook. Did you mean: passes?\n');
    } finally {
      await rm(path.join(workbook.root, 'workshop.json'));
    }
  });
});
