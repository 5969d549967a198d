import { it } from 'vitest';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { expectAllEnded, expectThat, expectTrace, fail, random, show, useInstrumentations, useTracing, verify, type SpanNode, type SpanShape } from '#checks';
import { ATTR_CACHE_TIER, ATTR_PRODUCT_ID, ProductCatalog } from '#target/05-infrastructure/02-cache-redis/catalog.ts';
import { describeProduct, INSTANCE, keyOf, OP, product, startRig, type Instance, type Rig } from './02-cache-redis.rig.ts';

const otel = useTracing();
// What a service's instrumentation.ts would do. Under vitest an ESM import of ioredis never reaches the
// instrumentation's require hook: useInstrumentations requires ioredis once it is enabled, so the
// clients the checks hand to the catalog are patched (see docs/authoring.md).
useInstrumentations([new IORedisInstrumentation()]);

const TIER = 'app.cache.tier';
const PRODUCT_ID = 'app.product.id';
const SCOPE = 'tracecraft.catalog';
type Tier = 'l1' | 'redis' | 'store';

const rig = (options?: Parameters<typeof startRig>[2]): Promise<Rig> => startRig({ ProductCatalog }, otel.tracer('tracecraft.checker'), options);

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('loads a product from the store on its first read, and puts it in Redis as JSON with the Redis TTL (SET … PX)', async () => {
  const t = await rig();
  const id = random.pick(t.ids);
  const stored = t.store.peek(id);
  verify((await t.read(t.a, id)).product, `what the first read of ${id} answered (the product, from the store)`).equals(stored);
  verify(t.store.count('get', id), `the loads of ${id} from the store after its first read`).hasCount(1, 'load');
  const raw = await t.raw.get(id);
  if (raw === null) fail(`after the first read of ${id}, Redis has no key "${keyOf(id)}" (under the checks' prefix): a product the store answered is SET in Redis`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    fail(`the Redis value of "${keyOf(id)}" is not JSON: ${show(raw)} (store JSON.stringify(product))`);
  }
  verify(parsed, `the product read back from the Redis key "${keyOf(id)}"`).equals(stored);
  const pttl = await t.raw.pttl(id);
  if (pttl === -1) fail(`the Redis key "${keyOf(id)}" has no TTL: Redis would keep the copy forever. SET it with 'PX', redisTtlMs (${t.redisTtlMs})`);
  expectThat(
    pttl <= t.redisTtlMs && pttl > t.redisTtlMs - 2_000,
    `the Redis key "${keyOf(id)}" expires redisTtlMs (${t.redisTtlMs} ms) after it was set (SET … PX counts milliseconds, EX seconds)`,
    `Redis says it expires in ${pttl} ms`,
  );
});

it('answers from L1 until l1TtlMs after it was filled (fresh 1 ms before, expired exactly then), and a Redis answer fills L1 too', async () => {
  // With the Redis copy gone (deleted by the checks, as Redis does when its TTL runs out), only L1 can
  // spare the store a load: the count of loads says which reads L1 answered.
  const t = await rig();
  const id = random.pick(t.ids);
  const loads = (): number => t.store.count('get', id);
  const story: string[] = [`l1TtlMs=${t.l1TtlMs}`];
  const at = (label: string): string => `${story.join('; ')}; ${label}`;

  const filled = t.clock.now();
  await t.read(t.a, id);
  await t.raw.expire(id);
  story.push(`the first read (t=0) loaded ${id} from the store, then its Redis copy expired`);
  await t.clock.advanceTo(filled + t.l1TtlMs - 1);
  await t.read(t.a, id);
  verify(loads(), at(`a read at t=${t.l1TtlMs - 1}, 1 ms before the L1 entry expires: the loads from the store (L1 is still fresh)`)).hasCount(1, 'load');
  await t.clock.advance(1);
  await t.read(t.a, id);
  verify(loads(), at(`a read at t=${t.l1TtlMs}, exactly l1TtlMs after L1 was filled: the loads from the store (L1 has expired and Redis has no copy)`)).hasCount(2, 'load');

  // That load filled Redis and L1 again. Once L1 expires, Redis answers, and its answer fills L1.
  const reloaded = t.clock.now();
  story.push(`a read at t=${reloaded - filled} loaded it again`);
  await t.clock.advanceTo(reloaded + t.l1TtlMs);
  const fromRedis = await t.read(t.a, id);
  verify(fromRedis.product, at(`a read at t=${reloaded - filled + t.l1TtlMs} (L1 expired, Redis has the copy): what it answered`)).equals(t.store.peek(id));
  verify(loads(), at(`a read at t=${reloaded - filled + t.l1TtlMs}, with L1 expired and the copy in Redis: the loads from the store (Redis answers)`)).hasCount(2, 'load');
  const refilled = t.clock.now();
  story.push(`a read at t=${refilled - filled} was answered by Redis, then the Redis copy expired`);
  await t.raw.expire(id);
  await t.clock.advanceTo(refilled + t.l1TtlMs - 1);
  await t.read(t.a, id);
  verify(loads(), at(`a read l1TtlMs - 1 ms after Redis answered: the loads from the store (Redis's answer filled L1, which is still fresh)`)).hasCount(2, 'load');
  await t.clock.advance(1);
  await t.read(t.a, id);
  verify(loads(), at('a read exactly l1TtlMs after Redis answered: the loads from the store (that L1 entry has expired)')).hasCount(3, 'load');
});

it('a second instance finds in Redis what the first put there: Redis answers it, the store is not asked', async () => {
  const t = await rig();
  const id = random.pick(t.ids);
  const [first, second] = random.shuffle([t.a, t.b]) as [Instance, Instance];
  await t.read(first, id);
  verify((await t.read(second, id)).product, `what instance ${second.name} answered for ${id}, which instance ${first.name} had read`).equals(t.store.peek(id));
  verify(t.store.count('get', id), `the loads of ${id} from the store after instance ${first.name} read it and then instance ${second.name} (the second read finds it in Redis)`).hasCount(1, 'load');
});

it('a write saves to the store, then deletes the Redis copy and the writer\'s L1 copy: the next read loads the new version from the store', async () => {
  const t = await rig();
  const [id, other] = t.ids as [string, string];
  const writer = random.pick([t.a, t.b]);
  await t.read(writer, id);
  await t.read(writer, other);
  for (const read of [id, other]) {
    expectThat((await t.raw.get(read)) !== null, `before the write, the first read of ${read} put it in Redis (SET "${keyOf(read)}")`, 'Redis has no such key');
  }
  await t.clock.advance(random.int(0, t.l1TtlMs - 1));
  const updated = { ...product(id), name: `Renamed ${random.word(4)}` };
  await t.write(writer, updated);
  verify(t.store.peek(id), `what the store holds for ${id} after updateProduct`).equals(updated);
  const left = await t.raw.get(id);
  expectThat(left === null, `after the write of ${id}, its Redis copy is deleted (DEL "${keyOf(id)}")`, `Redis still holds ${left}`);
  verify(t.store.count('get', id), `the loads of ${id} before its next read (a write does not read the store)`).hasCount(1, 'load');
  verify((await t.read(writer, id)).product, `what the read of ${id} on the writer, after the write, answered`).equals(updated);
  verify(t.store.count('get', id), `the loads of ${id} once the writer read it after the write (both tiers were cleared, and the write put nothing in them: the next read loads from the store)`).hasCount(2, 'load');
  expectThat((await t.raw.get(other)) !== null, `a write invalidates the written product only: ${other}, another product, is still in Redis`, 'its Redis copy is gone');
  await t.read(writer, other);
  verify(t.store.count('get', other), `the loads of ${other}, another product, read again within its L1 TTL`).hasCount(1, 'load');
});

it('a write on one instance reaches the other instance\'s L1 over pub/sub: once the message is there, it answers the new version, long before its L1 TTL', async () => {
  for (const [writer, reader] of random.shuffle([['A', 'B'], ['B', 'A']] as const)) {
    const t = await rig();
    const instance = (name: 'A' | 'B'): Instance => (name === 'A' ? t.a : t.b);
    const id = random.pick(t.ids);
    const old = t.store.peek(id);
    await t.read(instance(writer), id);
    await t.read(instance(reader), id);
    verify((await t.read(instance(reader), id)).product, `what instance ${reader} answered from its L1 before the write`).equals(old);
    const updated = product(id);
    const since = t.heard.length;
    await t.write(instance(writer), updated);
    await t.delivered(since);
    const published = t.heard.slice(since);
    verify(published, `what instance ${writer}'s write of ${id} published on the invalidation channel (the product's id)`).includes(id);
    const answer = (await t.read(instance(reader), id)).product;
    expectThat(
      JSON.stringify(answer) === JSON.stringify(updated),
      `instance ${writer} wrote ${describeProduct(updated)} and published the invalidation; once it reached instance ${reader}, whose L1 entry was still fresh (l1TtlMs=${t.l1TtlMs}, and the clock did not move), instance ${reader} answers the new version: its listener drops the L1 copy`,
      `it answered ${describeProduct(answer)}`,
    );
  }
});

it('a write commits to the store before it invalidates: a read on the other instance during the write cannot put the old version back', async () => {
  const commitMs = random.int(10, 500);
  const t = await rig({ commitMs });
  const id = random.pick(t.ids);
  const [writer, reader] = random.shuffle([t.a, t.b]) as [Instance, Instance];
  const updated = product(id);
  const since = t.heard.length;
  const writing = t.write(writer, updated);
  // The write's store.set now waits for its commit, on the check's clock.
  const deadline = Date.now() + 1_000;
  while (t.clock.pending() === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
  if (t.clock.pending() === 0) fail(`updateProduct on instance ${writer.name} never called store.set (the checks' store waits ${commitMs} ms to commit)`);
  const during = (await t.read(reader, id)).product;
  await t.clock.advance(commitMs);
  await writing;
  await t.delivered(since);
  const story = `instance ${reader.name} read ${id} while instance ${writer.name}'s write was committing (and got ${describeProduct(during)})`;
  verify((await t.read(writer, id)).product, `${story}; then, once the write was done, what a read on instance ${writer.name} answered (invalidate after the store has the new version, or that read can put the old one back in Redis)`).equals(updated);
  verify((await t.read(reader, id)).product, `${story}; what a read on instance ${reader.name} answered once the invalidation had reached it`).equals(updated);
});

// ---------------------------------------------------------------------------------------------
// The trace
// ---------------------------------------------------------------------------------------------

it('traces which tier answered: app.cache.tier, no Redis span on an L1 hit, no store span on a Redis hit', async () => {
  const t = await rig();
  const id = random.pick(t.ids);
  const [first, second] = random.shuffle([t.a, t.b]) as [Instance, Instance];
  const loaded = await t.read(first, id);
  await t.clock.advance(random.int(0, t.l1TtlMs - 1));
  const l1 = await t.read(first, id);
  const redis = await t.read(second, id);
  await t.clock.advance(t.l1TtlMs);
  const expired = await t.read(first, id);
  expectAllEnded(otel, 'every span ends');
  expectRead(loaded.op, id, 'store', 'the first read of a product: neither tier has it, so app.cache.tier="store", with Redis GET, the store\'s "get products" and Redis SET under it');
  expectRead(l1.op, id, 'l1', `a second read on the same instance within l1TtlMs: L1 answers, app.cache.tier="l1", and no Redis command is sent`);
  expectRead(redis.op, id, 'redis', `the first read on instance ${second.name}: its L1 is empty, Redis has the copy, app.cache.tier="redis", with the Redis GET under it and no store span`);
  expectRead(expired.op, id, 'redis', 'a read once the L1 entry has expired: Redis answers, app.cache.tier="redis"');
});

it('traces a write: "update product" with app.product.id, and the store\'s span and the Redis commands of the invalidation under it', async () => {
  const t = await rig();
  const id = random.pick(t.ids);
  const writer = random.pick([t.a, t.b]);
  await t.read(writer, id);
  const { op } = await t.write(writer, product(id));
  expectAllEnded(otel, 'every span ends');
  const tree = expectTrace(
    otel,
    {
      name: 'request',
      attributes: { [OP]: op },
      children: [{ name: 'update product', kind: 'internal', scope: SCOPE, attributes: { [PRODUCT_ID]: id }, children: [{ name: 'set products', kind: 'client' }] }],
    },
    'a write is an "update product" span with app.product.id, and the store\'s "set products" under it',
  );
  const update = tree.spans.find((s) => s.name === 'update product') as SpanNode;
  expectThat(
    redisChildren(update).length > 0,
    'the invalidation\'s Redis commands (DEL, PUBLISH) are CLIENT spans under "update product": send them inside its startActiveSpan callback',
    `"update product" has ${describeChildren(update)}`,
  );
});

it('follows both tiers of both instances in its spans, for a random sequence of reads, writes, expiries and time', async () => {
  const t = await rig({ ids: random.int(1, 3) });
  const l1 = { A: new Map<string, number>(), B: new Map<string, number>() };
  const inRedis = new Set<string>();
  const latest = new Map(t.ids.map((id) => [id, t.store.peek(id)]));
  for (let step = 0; step < 40; step++) {
    const id = random.pick(t.ids);
    const instance = random.pick([t.a, t.b]);
    const cache = l1[instance.name];
    const roll = Math.random();
    if (roll < 0.55) {
      const expiresAt = cache.get(id);
      const tier: Tier = expiresAt !== undefined && t.clock.now() < expiresAt ? 'l1' : inRedis.has(id) ? 'redis' : 'store';
      const { op, product: answer } = await t.read(instance, id);
      verify(answer, `what read #${op} of ${id} on instance ${instance.name} answered (the last version written)`).equals(latest.get(id));
      const why =
        tier === 'l1'
          ? `read #${op} of ${id} on instance ${instance.name}: its L1 entry is fresh until ${expiresAt}, and the clock says ${t.clock.now()}`
          : `read #${op} of ${id} on instance ${instance.name}: ${expiresAt === undefined ? 'not in its L1 (never read there, or invalidated)' : `its L1 entry expired at ${expiresAt}, and the clock says ${t.clock.now()}`}, and ${tier === 'redis' ? 'Redis has it' : 'Redis does not have it (never read, written since, or expired)'}`;
      expectRead(op, id, tier, why);
      if (tier === 'store') inRedis.add(id);
      if (tier !== 'l1') cache.set(id, t.clock.now() + t.l1TtlMs);
    } else if (roll < 0.7) {
      const next = product(id);
      const since = t.heard.length;
      await t.write(instance, next);
      await t.delivered(since);
      latest.set(id, next);
      inRedis.delete(id);
      l1.A.delete(id);
      l1.B.delete(id);
    } else if (roll < 0.78) {
      await t.raw.expire(id);
      inRedis.delete(id);
    } else {
      await t.clock.advance(random.pick([1, random.int(1, t.l1TtlMs), t.l1TtlMs]));
    }
  }
  verify(ATTR_CACHE_TIER, 'the exported constant ATTR_CACHE_TIER').is(TIER);
  verify(ATTR_PRODUCT_ID, 'the exported constant ATTR_PRODUCT_ID').is(PRODUCT_ID);
});

// ---------------------------------------------------------------------------------------------
// Reading the trace of one read
// ---------------------------------------------------------------------------------------------

const isRedis = (s: SpanNode): boolean => s.kind === 'client' && s.attributes['db.system.name'] === 'redis';
const redisChildren = (span: SpanNode): SpanNode[] => span.children.filter(isRedis);
const storeChildren = (span: SpanNode): SpanNode[] => span.children.filter((s) => s.name === 'get products');

function describeChildren(span: SpanNode): string {
  return span.children.length === 0 ? 'no children' : `the children ${span.children.map((s) => `"${s.name}"${isRedis(s) ? ' (Redis)' : ''}`).join(', ')}`;
}

const redisCommand = (name: string): SpanShape => ({ name, kind: 'client', attributes: { 'db.system.name': 'redis', 'db.operation.name': name } });

/** The `get product` span of request `op`, checked against the README's shape for the tier that must have answered. */
function expectRead(op: number, id: string, tier: Tier, concept: string): void {
  const children: Record<Tier, SpanShape[]> = {
    l1: [],
    redis: [redisCommand('get')],
    store: [redisCommand('get'), { name: 'get products', kind: 'client' }, redisCommand('set')],
  };
  const shape: SpanShape = { name: 'get product', kind: 'internal', scope: SCOPE, attributes: { [TIER]: tier, [PRODUCT_ID]: id }, children: children[tier] };
  const tree = expectTrace(otel, { name: 'request', attributes: { [OP]: op }, children: [shape] }, concept);
  const root = tree.roots.find((r) => r.name === 'request' && r.attributes[OP] === op);
  const span = root?.children.find((c) => c.name === 'get product') as SpanNode;
  const where = `read #${op} (instance ${String(root?.attributes[INSTANCE])}, app.cache.tier=${show(span.attributes[TIER])})`;
  if (tier === 'l1') {
    verify(redisChildren(span).map((s) => s.name), `${concept}: the Redis commands under ${where} (an L1 hit asks nobody)`).equals([]);
  }
  if (tier !== 'store') {
    verify(storeChildren(span), `${concept}: the store spans under ${where}`).hasCount(0, '"get products" span');
  } else {
    verify(storeChildren(span), `${concept}: the store spans under ${where} (one load)`).hasCount(1, '"get products" span');
  }
}
