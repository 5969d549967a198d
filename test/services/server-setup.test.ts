import { describe, expect, it } from 'vitest';
import type { Exercise } from '../../src/catalog/index.ts';
import { resolveFor } from '../../src/cli/servers.ts';
import type { ContainerRuntime, Readiness, ServerName } from '../../src/services/index.ts';

// src/cli/servers.ts: what `check` and `learn` hand the grader, for a learner and for CI.

function exercise(id: string, servers: ServerName[]): Exercise {
  return { id, servers } as Exercise;
}

const noRuntime: ContainerRuntime = { available: async () => false, start: async () => Promise.reject(new Error('no engine')) };
/** Only Redis answers (a learner with Redis installed and nothing else). */
const onlyRedis = async (_spec: unknown, url: string): Promise<Readiness> =>
  url.startsWith('redis:') ? { ready: true } : { ready: false, problem: 'closed', reason: 'nothing is listening (fake)' };
const probes = { env: {}, embedded: {}, ready: onlyRedis, containers: noRuntime };

const EXERCISES = [exercise('cache', ['redis']), exercise('outbox', ['postgres', 'rabbitmq']), exercise('plain', [])];

describe('resolveFor', () => {
  it('skips, for a learner, each exercise whose servers are missing, with every missing server\'s message', async () => {
    const setup = await resolveFor(EXERCISES, { env: {}, probes });
    expect([...setup.skipped.keys()]).toEqual(['outbox']);
    expect(setup.required.size).toBe(0);
    const message = setup.skipped.get('outbox') ?? '';
    expect(message).toContain('PostgreSQL is needed by this exercise and none was found');
    expect(message).toContain('RabbitMQ is needed by this exercise and none was found');
    await setup.stop();
  });

  it('hands the checks each URL found and, for every server looked for, the sentence of a missing one (empty when found)', async () => {
    const setup = await resolveFor(EXERCISES, { env: {}, probes });
    expect(Object.keys(setup.env).sort()).toEqual([
      'TRACECRAFT_POSTGRES_MISSING',
      'TRACECRAFT_RABBITMQ_MISSING',
      'TRACECRAFT_REDIS_MISSING',
      'WORKBOOK_REDIS_URL',
    ]);
    expect(setup.env['TRACECRAFT_REDIS_MISSING']).toBe('');
    expect(setup.env['TRACECRAFT_RABBITMQ_MISSING']).toMatch(/^RabbitMQ is needed by this exercise/);
  });

  it.each(['1', 'true', 'yes'])('never skips when TRACECRAFT_REQUIRE_SERVERS=%s (CI): the exercise runs and its checks fail with the sentence', async (value) => {
    const setup = await resolveFor(EXERCISES, { env: { TRACECRAFT_REQUIRE_SERVERS: value }, probes });
    expect(setup.skipped.size).toBe(0);
    expect([...setup.required.keys()]).toEqual(['outbox']);
    expect(setup.env['TRACECRAFT_POSTGRES_MISSING']).toMatch(/^PostgreSQL is needed by this exercise/);
  });

  it.each(['', '0', 'false'])('skips as for a learner when TRACECRAFT_REQUIRE_SERVERS=%j', async (value) => {
    const setup = await resolveFor(EXERCISES, { env: { TRACECRAFT_REQUIRE_SERVERS: value }, probes });
    expect([...setup.skipped.keys()]).toEqual(['outbox']);
  });

  it('looks for nothing when no selected exercise needs a server', async () => {
    const setup = await resolveFor([exercise('plain', [])], { env: {}, probes: { ...probes, ready: async () => Promise.reject(new Error('never asked')) } });
    expect(setup).toMatchObject({ env: {}, warnings: [] });
    expect(setup.skipped.size + setup.required.size).toBe(0);
  });
});
