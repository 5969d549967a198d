import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Grader } from '../../src/runner/grader.ts';
import type { ModuleResult } from '../../src/runner/results.ts';
import type { SpanNode } from '../../src/trace/model.ts';
import { REPO_ROOT } from '../support/workbook.ts';

// cache-redis asks nothing of the learner about the ioredis instrumentation: its checker enables it
// (useInstrumentations), and the Redis clients it hands to the learner's code come from require()
// after that, because under vitest an ESM import of ioredis never reaches the instrumentation's
// require hook. Graded for real here, on the local Redis: the learner's read spans get the
// instrumentation's CLIENT spans as children, with the database conventions.

const CHECKER = path.join(REPO_ROOT, 'checker', '05-infrastructure', '02-cache-redis.test.ts');
const TIERS = 'traces which tier answered: app.cache.tier, no Redis span on an L1 hit, no store span on a Redis hit';

describe('the ioredis instrumentation under the real grader (cache-redis)', () => {
  let grader: Grader;
  let result: ModuleResult | undefined;
  beforeAll(async () => {
    grader = new Grader({ root: REPO_ROOT, target: 'solutions', testTimeoutMs: 3000, isolate: true });
    const outcome = await grader.run([CHECKER], { WORKBOOK_REDIS_URL: 'redis://127.0.0.1:6379' });
    result = outcome.results.get(CHECKER);
  }, 60_000);
  afterAll(() => grader.close());

  it('puts a CLIENT span per Redis command under the learner\'s "get product" span', () => {
    const check = result?.tests.find((t) => t.name === TIERS);
    expect(check?.status, check?.message).toBe('pass');
    const spans = (check?.traces ?? []).flatMap((trace) => trace.spans);
    const reads = spans.filter((s) => s.name === 'get product');
    const byTier = (tier: string): SpanNode[] => reads.filter((s) => s.attributes['app.cache.tier'] === tier);
    const redisUnder = (span: SpanNode): SpanNode[] => span.children.filter((c) => c.attributes['db.system.name'] === 'redis');

    const [loaded] = byTier('store');
    expect(loaded && redisUnder(loaded).map((s) => [s.name, s.kind, s.attributes['db.operation.name']])).toEqual([
      ['get', 'client', 'get'],
      ['set', 'client', 'set'],
    ]);
    const set = loaded && redisUnder(loaded).find((s) => s.name === 'set');
    // The serializer keeps the key and leaves the value (the product's JSON) out of the span.
    expect(set?.attributes['db.query.text']).toMatch(/^set tracecraft:[0-9a-f]{10}:product:\S+ \[3 other arguments\]$/);
    expect(byTier('redis').every((s) => redisUnder(s).length === 1)).toBe(true);
    expect(byTier('l1').map((s) => redisUnder(s).length)).toEqual([0]);
    // No span for the connections' own commands (connect, INFO, SUBSCRIBE): none was sent inside a span.
    expect(spans.filter((s) => s.attributes['db.system.name'] === 'redis' && s.parentSpanId === undefined)).toEqual([]);
  });
});
