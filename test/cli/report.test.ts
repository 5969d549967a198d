import { describe, expect, it } from 'vitest';
import { buildCatalog, type Exercise } from '../../src/catalog/index.ts';
import { gradeOnce } from '../../src/runner/grade.ts';
import type { ExerciseResult } from '../../src/runner/results.ts';
import { formatTable, overallStatus, toJson } from '../../src/cli/report.ts';

function exercise(id: string, track = 'infrastructure'): Exercise {
  return {
    id,
    title: id,
    track,
    trackTitle: 'Real infrastructure',
    difficulty: 3,
    summary: '',
    files: ['code.ts'],
    hints: ['h'],
    servers: ['redis'],
    relDir: `05-${track}/01-${id}`,
    dir: `/nowhere/exercises/05-${track}/01-${id}`,
    solutionDir: `/nowhere/solutions/05-${track}/01-${id}`,
    checkerFile: `/nowhere/checker/05-${track}/01-${id}.test.ts`,
    readmeFile: `/nowhere/exercises/05-${track}/01-${id}/README.md`,
  };
}

describe('an exercise whose server could not be found', () => {
  const cache = exercise('cache-redis');
  const skip = 'no Redis server was found. To provide one:\n  export WORKBOOK_REDIS_URL=redis://host:6379';

  it('is skipped with the command that would provide the server, and no checker runs', async () => {
    const results = await gradeOnce([cache], { root: '/nowhere', target: 'exercises', skipped: new Map([[cache.id, skip]]) });
    expect(results).toEqual([{ id: 'cache-redis', track: 'infrastructure', status: 'skipped', message: skip, tests: [] }]);
  });

  it('does not fail the run, and shows as skipped in the table, with its reason once, and in the JSON', () => {
    const passed: ExerciseResult = { id: 'first-span', track: 'foundations', status: 'pass', tests: [{ name: 'a', status: 'pass' }] };
    const skipped: ExerciseResult = { id: 'cache-redis', track: 'infrastructure', status: 'skipped', message: skip, tests: [] };
    expect(overallStatus([passed, skipped])).toBe('pass');
    const catalog = buildCatalog(
      '/nowhere',
      [
        { id: 'foundations', title: 'Foundations', summary: '', dir: '/nowhere/exercises/01-foundations' },
        { id: 'infrastructure', title: 'Real infrastructure', summary: '', dir: '/nowhere/exercises/05-infrastructure' },
      ],
      [exercise('first-span', 'foundations'), cache],
    );
    expect(formatTable(catalog, [passed, skipped]).split('\n')).toEqual([
      'Foundations',
      '  ✓ first-span   ★★★   1/1',
      '',
      'Real infrastructure',
      '  - cache-redis  ★★★   skipped',
      '',
      'Skipped cache-redis:',
      '  no Redis server was found. To provide one:',
      '    export WORKBOOK_REDIS_URL=redis://host:6379',
      '',
      'Total: 1 passed, 0 failed, 0 errored, 1 skipped (2 exercises)',
    ]);
    expect(toJson([passed, skipped])).toMatchObject({
      status: 'pass',
      exercises: [{ id: 'first-span', status: 'pass' }, { id: 'cache-redis', status: 'skipped', message: skip, tests: [] }],
      summary: { pass: 1, fail: 0, error: 0, skipped: 1 },
    });
  });
});
