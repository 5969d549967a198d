import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/index.ts';
import { resolveFor } from '../../src/cli/servers.ts';
import { gradeOnce } from '../../src/runner/grade.ts';
import type { ExerciseResult } from '../../src/runner/results.ts';
import { localUrl, SERVER_SPECS } from '../../src/services/index.ts';
import { REPO_ROOT } from '../support/workbook.ts';

// The workbook's exercises that need real servers, graded for real the way `npm run check` grades
// them: servers found by src/cli/servers.ts (PGlite for PostgreSQL, the local ports for the others).
// A server that cannot be found fails here, it is never skipped: on the project's machines and in
// CI every server runs. Exercises on PostgreSQL pass on the embedded PGlite and on the real server.

const catalog = await loadCatalog(REPO_ROOT);
const needingServers = catalog.exercises.filter((e) => e.servers.length > 0);
const onPostgres = needingServers.filter((e) => e.servers.includes('postgres'));

function describeResult(result: ExerciseResult | undefined): string {
  if (!result) return 'no result';
  const lines = [`${result.id}: ${result.status}${result.message ? ` — ${result.message}` : ''}`];
  for (const test of result.tests) lines.push(`  [${test.status}] ${test.name}${test.message ? `\n${test.message}` : ''}`);
  return lines.join('\n');
}

async function gradeSolutions(env: NodeJS.ProcessEnv, ids: readonly string[]): Promise<Map<string, ExerciseResult>> {
  const exercises = needingServers.filter((e) => ids.includes(e.id));
  const servers = await resolveFor(exercises, { probes: { env } });
  try {
    for (const [id, message] of [...servers.skipped, ...servers.required]) throw new Error(`${id}: ${message}`);
    const results = await gradeOnce(exercises, { root: REPO_ROOT, target: 'solutions', isolate: false, env: servers.env });
    return new Map(results.map((r) => [r.id, r]));
  } finally {
    await servers.stop();
  }
}

describe('the exercises that need real servers', () => {
  it('are listed in the catalog with servers the workbook knows', () => {
    for (const exercise of needingServers) {
      for (const server of exercise.servers) expect(Object.keys(SERVER_SPECS), exercise.id).toContain(server);
    }
  });

  if (needingServers.length > 0) {
    it.each(needingServers.map((e) => [e.id]))('%s passes on the servers the workbook finds (PGlite for PostgreSQL)', async (id) => {
      const result = (await gradeSolutions({ ...process.env, WORKBOOK_POSTGRES_URL: '' }, [id])).get(id);
      expect(result?.status, describeResult(result)).toBe('pass');
    }, 120_000);
  }

  if (onPostgres.length > 0) {
    it.each(onPostgres.map((e) => [e.id]))('%s passes on the real PostgreSQL too', async (id) => {
      const result = (await gradeSolutions({ ...process.env, WORKBOOK_POSTGRES_URL: localUrl(SERVER_SPECS.postgres) }, [id])).get(id);
      expect(result?.status, describeResult(result)).toBe('pass');
    }, 120_000);
  }
});
