import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Grader } from '../../src/runner/grader.ts';
import type { ModuleResult } from '../../src/runner/results.ts';
import type { Target } from '../../src/runner/target-plugin.ts';

// A tiny workbook whose checker reads the import graph of the code it grades: the starter's domain
// imports OpenTelemetry, the solution's does not. Only the runner knows which tree a run grades.
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'imports', 'workbook');
const CHECKER = path.join(ROOT, 'checker', '01-arch', '01-pure-domain.test.ts');

async function grade(target: Target): Promise<ModuleResult | undefined> {
  const grader = new Grader({ root: ROOT, target, testTimeoutMs: 20_000, isolate: true });
  try {
    const { results } = await grader.run([CHECKER]);
    return results.get(CHECKER);
  } finally {
    await grader.close();
  }
}

describe('a checker that reads the source of the exercise it grades', () => {
  it('reads solutions/ when the run grades the solutions', async () => {
    const result = await grade('solutions');
    expect(result?.tests.map((t) => [t.name, t.status, t.message])).toEqual([
      ['adds up the order', 'pass', undefined],
      ['reads the source of the tree being graded', 'pass', undefined],
      ['keeps OpenTelemetry out of the domain', 'pass', undefined],
    ]);
  });

  it("reads exercises/ when it grades the learner's work, and fails the rule as an assertion that names the import", async () => {
    const result = await grade('exercises');
    expect(result?.status).toBe('fail');
    expect(result?.tests.map((t) => [t.name, t.status])).toEqual([
      ['adds up the order', 'pass'],
      ['reads the source of the tree being graded', 'pass'],
      ['keeps OpenTelemetry out of the domain', 'fail'],
    ]);
    expect(result?.tests[2]?.message).toBe(
      'the domain never imports OpenTelemetry:\n' +
        '  - domain/order.ts:1 imports "@opentelemetry/api": the domain must not depend on OpenTelemetry',
    );
  });
});

describe('a structure check in watch mode', () => {
  it('reads the files as they are at each run, not as they were at the first one', async () => {
    // A private copy, so the test can fix the learner's domain between two runs of one grader.
    const root = await mkdtemp(path.join(os.tmpdir(), 'tracecraft-imports-'));
    await cp(ROOT, root, { recursive: true });
    await symlink(path.join(ROOT, '..', '..', '..', '..', 'node_modules'), path.join(root, 'node_modules'), 'dir');
    const checker = path.join(root, 'checker', '01-arch', '01-pure-domain.test.ts');
    const grader = new Grader({ root, target: 'exercises', testTimeoutMs: 20_000, isolate: true });
    try {
      const before = await grader.run([checker]);
      expect(before.results.get(checker)?.tests[2]?.status).toBe('fail');
      const domain = path.join(root, 'exercises', '01-arch', '01-pure-domain', 'domain', 'order.ts');
      const fixed = await readFile(path.join(root, 'solutions', '01-arch', '01-pure-domain', 'domain', 'order.ts'), 'utf8');
      await writeFile(domain, fixed);
      grader.invalidate([domain]);
      const after = await grader.run([checker]);
      expect(after.results.get(checker)?.tests[2]).toMatchObject({ name: 'keeps OpenTelemetry out of the domain', status: 'pass' });
    } finally {
      await grader.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
