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
