import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregate, type ExerciseSummary, type WorkshopReport } from '../../src/workshop/report-model.ts';
import { parseResults, readResults, ReportInputError } from '../../src/workshop/report-input.ts';
import { formatReport } from '../../src/workshop/report-table.ts';
import { runCli } from '../support/workbook.ts';
import { checkJson, collectorLines, EXERCISES, generateLearners, jsonFileName, runCount, type Learner } from './learners.ts';

const learners = generateLearners(100);
const order = EXERCISES.map((e) => ({ id: e.id, track: e.track }));
const withResults = learners.filter((l) => EXERCISES.some((e) => l.truth[e.id].state !== 'no-result'));

/** What the report must say per exercise, from what the generator decided. */
function expectedExercises(all: readonly Learner[]): ExerciseSummary[] {
  return EXERCISES.map((e) => {
    const states = all.map((l) => l.truth[e.id]);
    const count = (state: string): number => states.filter((t) => t.state === state).length;
    const failing = new Map<string, number>();
    for (const t of states) if (t.state === 'stuck') for (const check of t.failing) failing.set(check, (failing.get(check) ?? 0) + 1);
    const [top] = [...failing].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
    return {
      id: e.id,
      track: e.track,
      learners: states.filter((t) => t.state !== 'no-result').length,
      passed: count('passed'),
      stuck: count('stuck'),
      notStarted: count('not-started'),
      skipped: count('skipped'),
      mostFailing: top ? { check: top[0], learners: top[1] } : undefined,
    };
  });
}

function expectedLearners(all: readonly Learner[]): { name: string; passed: number; stuck: string[] }[] {
  return all
    .map((l) => ({ name: l.name, passed: EXERCISES.filter((e) => l.truth[e.id].state === 'passed').length, stuck: EXERCISES.filter((e) => l.truth[e.id].state === 'stuck').map((e) => e.id) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

const learnerFacts = (report: WorkshopReport) => report.learners.map((l) => ({ name: l.name, passed: l.passed, stuck: l.stuck }));

describe('the results report of a workshop of 100 learners', () => {
  let dir: string;
  let jsonFiles: string[];
  let otlpFile: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tracecraft-report-'));
    await mkdir(path.join(dir, 'results'));
    jsonFiles = await Promise.all(
      learners.map(async (l, i) => {
        const file = path.join(dir, 'results', jsonFileName(l, i));
        await writeFile(file, JSON.stringify(checkJson(l, Date.UTC(2026, 11, 1, 12, 0, i)), null, 2));
        return file;
      }),
    );
    otlpFile = path.join(dir, 'collector-traces.jsonl');
    await writeFile(otlpFile, collectorLines(learners));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('covers every state on every exercise (the fixed learners see to it, whatever the draw)', () => {
    for (const e of expectedExercises(learners)) {
      expect(e.passed * e.stuck * e.notStarted * e.skipped, e.id).toBeGreaterThan(0);
      expect(e.learners, e.id).toBeLessThan(100);
    }
  });

  it('from check --json files: per exercise how many passed, are stuck, have not started, and the check most often failing', async () => {
    const runs = await readResults(jsonFiles);
    const report = aggregate(runs, { exercises: order });
    expect(report.exercises).toEqual(expectedExercises(learners));
    expect(learnerFacts(report)).toEqual(expectedLearners(withResults));
    // A file that does not name its learner is the learner's by its name.
    expect(report.learners.map((l) => l.name)).toContain('learner 001');
  });

  it('from OTLP JSON lines as a Collector writes them: the same, from every run of every learner, passing over their own traces', async () => {
    const runs = await readResults([otlpFile]);
    expect(runs).toHaveLength(runCount(learners));
    const report = aggregate(runs, { exercises: order });
    expect(report.exercises).toEqual(expectedExercises(learners));
    expect(learnerFacts(report)).toEqual(expectedLearners(withResults));
    expect(report.runs).toBe(runCount(learners));
    // Every save in learn is a run: the latest is the learner's last exercise, by time.
    const first = report.learners.find((l) => l.name === 'learner 000');
    expect(first?.lastRun?.exercise).toBe([...EXERCISES].reverse().find((e) => learners[0]!.truth[e.id].state !== 'no-result')?.id);
  });

  it('reads both formats together, and gzipped files', async () => {
    const gz = path.join(dir, 'collector-traces.jsonl.gz');
    await writeFile(gz, gzipSync(collectorLines(learners.slice(0, 10))));
    const fromGz = aggregate(await readResults([gz]), { exercises: order });
    expect(fromGz.exercises).toEqual(expectedExercises(learners.slice(0, 10)));
    const both = aggregate(await readResults([...jsonFiles.slice(0, 50), otlpFile]), { exercises: order });
    expect(both.exercises).toEqual(expectedExercises(learners));
  });

  it('draws a table per exercise and per learner in the terminal, cut to the width', async () => {
    const report = aggregate(await readResults([otlpFile]), { exercises: order, title: 'Generated workshop' });
    const lines = formatReport(report, undefined, 200).split('\n');
    expect(lines[0]).toBe(`Generated workshop: ${withResults.length} learners, ${runCount(learners)} graded runs`);
    expect(lines[2]).toMatch(/^exercise\s+passed\s+stuck\s+not started\s+most often failing \(stuck learners\)$/);
    expectedExercises(learners).forEach((e, i) => {
      expect((lines[3 + i] ?? '').split(/\s{2,}/), e.id).toEqual([
        e.id,
        `${e.passed}/${withResults.length}`,
        String(e.stuck),
        String(e.notStarted),
        `${e.mostFailing?.check} (${e.mostFailing?.learners})`,
        `${e.skipped} skipped (a server was missing)`,
      ]);
    });
    const header = lines.findIndex((l) => /^learner\s+passed\s+stuck on\s+last run$/.test(l));
    expect(lines.slice(header + 1)).toHaveLength(withResults.length);
    expectedLearners(withResults).forEach((l, i) => {
      expect((lines[header + 1 + i] ?? '').split(/\s{2,}/).slice(0, 3), l.name).toEqual([l.name, `${l.passed}/6`, l.stuck.length > 0 ? l.stuck.join(', ') : '-']);
    });
    const narrow = formatReport(report, undefined, 60).split('\n');
    for (const line of narrow) expect(line.length, line).toBeLessThanOrEqual(60);
    expect(narrow.some((line) => line.endsWith('…'))).toBe(true);
  });

  it('says which file and which line is neither format', () => {
    const facts = { file: 'bad.jsonl', learner: 'bad', mtimeMs: 0 };
    const problem = (text: string): readonly string[] => {
      try {
        parseResults(text, facts);
        return [];
      } catch (error) {
        return error instanceof ReportInputError ? error.problems : [String(error)];
      }
    };
    expect(problem('{"resourceSpans":[]}\n{"resourceSpans": [\n')).toEqual([expect.stringMatching(/^bad\.jsonl:2: neither JSON nor JSON lines: /)]);
    expect(problem('{"hello": 1}')).toEqual(['bad.jsonl: neither a check --json result (with "version" and "exercises") nor OTLP JSON (with "resourceSpans")']);
    expect(problem('{"resourceSpans":[]}')).toEqual(['bad.jsonl: OTLP JSON, but without a single "check <exercise>" span of scope "tracecraft" (was it exported by tracecraft?)']);
    expect(problem('{"version":1,"exercises":[{"id":"x","track":"t","status":"maybe","tests":[]}]}')).toEqual([
      'bad.jsonl: "exercises[0].status" Invalid option: expected one of "pass"|"fail"|"error"|"skipped" (got "maybe")',
    ]);
  });

  it('npm run report prints the table, --json the same report as data, and exits 2 naming a file it cannot read', async () => {
    const table = await runCli(['report', ...jsonFiles, '--root', dir]);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`Workshop results: ${withResults.length} learners, `);
    for (const e of expectedExercises(learners)) expect(table.stdout).toMatch(new RegExp(`^${e.id}\\s+${e.passed}/${withResults.length}\\s+${e.stuck}\\s+${e.notStarted}\\s`, 'm'));
    const json = await runCli(['report', otlpFile, '--json', '--root', dir]);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as WorkshopReport;
    expect(report.version).toBe(1);
    expect([...report.exercises].sort((a, b) => a.id.localeCompare(b.id))).toEqual(expectedExercises(learners).sort((a, b) => a.id.localeCompare(b.id)));
    const missing = await runCli(['report', otlpFile, path.join(dir, 'nobody.json'), '--root', dir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`tracecraft: ${path.join(dir, 'nobody.json')}: failed to read: there is no such file\n`);
    const none = await runCli(['report']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('name the results files to report on');
  });
});
