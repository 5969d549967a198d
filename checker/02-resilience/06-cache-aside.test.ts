import { expect, it } from 'vitest';
import { expectAllEnded, expectTrace, random, useTracing, where, type SpanNode, type SpanShape } from '#checks';
import { FakeClock, flushMicrotasks, TracedStore, type StoreCall } from '#kit';
import {
  ATTR_CACHE_HIT,
  ATTR_PRODUCT_ID,
  ProductCatalog,
  type Product,
} from '#target/02-resilience/06-cache-aside/catalog.ts';

const otel = useTracing();

const HIT = 'app.cache.hit';
const PRODUCT_ID = 'app.product.id';
const OP = 'test.op';

let nextPrice = 0;

/** A product with a price no other product of the check has: reads are told apart by it. */
function product(id: string): Product {
  nextPrice += random.int(1, 99);
  return { id, name: `${random.pick(['Lamp', 'Desk', 'Chair', 'Shelf', 'Rug'])} ${random.word(5)}`, priceCents: nextPrice };
}

function productId(): string {
  return `sku-${random.int(1000, 99_999)}-${random.word(3)}`;
}

function show(p: Product | undefined): string {
  return p === undefined ? 'undefined' : `{ id: "${p.id}", priceCents: ${p.priceCents} }`;
}

interface Options {
  ttlMs?: number;
  ids?: number;
  /** How long the store takes to answer each call, on the check's fake clock. */
  latency?: (call: StoreCall) => number;
}

/**
 * A catalog on a fake clock, in front of a traced store seeded with a few products. Every read
 * and write is sent from a root span `request` with its own number, so its trace can be found.
 */
function setup(options: Options = {}) {
  nextPrice = random.int(100, 10_000);
  const clock = new FakeClock(random.int(0, 100_000));
  const ttlMs = options.ttlMs ?? random.int(50, 5_000);
  const latency = options.latency;
  const ids = Array.from({ length: options.ids ?? 3 }, productId);
  const store = new TracedStore<Product>('products', {
    seed: ids.map((id) => [id, product(id)] as const),
    ...(latency ? { latency: (call: StoreCall) => clock.sleep(latency(call)) } : {}),
  });
  const catalog = new ProductCatalog({ store, ttlMs, clock });
  const tracer = otel.tracer('tracecraft.checker');
  let ops = 0;

  function request<T>(run: () => Promise<T>): { op: number; done: Promise<T> } {
    const op = ++ops;
    const done = tracer.startActiveSpan('request', { attributes: { [OP]: op } }, (span) => run().finally(() => span.end()));
    return { op, done };
  }

  return {
    clock,
    ttlMs,
    ids,
    store,
    catalog,
    read: (id: string) => request(() => catalog.getProduct(id)),
    write: (p: Product) => request(() => catalog.updateProduct(p)),
  };
}

/** The `get product` span of request `op`, after checking the README's shape for it. */
function expectReadSpan(op: number, id: string, hit: boolean | undefined, concept: string): SpanNode {
  const shape: SpanShape = {
    name: 'get product',
    kind: 'internal',
    attributes: { [HIT]: hit ?? where('true or false', (v) => typeof v === 'boolean'), [PRODUCT_ID]: id },
    children: hit === false ? [{ name: 'get products', kind: 'client' }] : [],
  };
  const tree = expectTrace(otel, { name: 'request', attributes: { [OP]: op }, children: [shape] }, concept);
  const root = tree.roots.find((r) => r.name === 'request' && r.attributes[OP] === op);
  const span = root?.children.find((c) => c.name === 'get product');
  if (!span) throw new Error('unreachable: the shape matched a "get product" child');
  const loads = span.children.filter((c) => c.name === 'get products').length;
  if (span.attributes[HIT] === true) {
    expect(loads, `${concept}: a hit (${HIT}=true) has no "get products" span under it: the store was not asked`).toBe(0);
  } else {
    expect(loads, `${concept}: a miss (${HIT}=false) has exactly one "get products" span under it: one load from the store`).toBe(1);
  }
  return span;
}

it('loads a product from the store on the first read, and serves the next reads within the TTL from the cache', async () => {
  const t = setup();
  const id = random.pick(t.ids);
  const stored = t.store.peek(id);
  const reads = random.int(2, 5);
  for (let i = 0; i < reads; i++) {
    expect(await t.read(id).done, `read #${i + 1} of ${id} answers the product`).toEqual(stored);
    await t.clock.advance(Math.floor((t.ttlMs - 1) / reads));
  }
  expect(t.store.count('get', id), `${reads} reads within the TTL of ${t.ttlMs} ms: only the first one loads from the store`).toBe(1);
});

it('expires an entry ttlMs after it was cached: from that moment, the next read loads again', async () => {
  const t = setup();
  const id = random.pick(t.ids);
  await t.read(id).done;
  await t.clock.advance(t.ttlMs - 1);
  await t.read(id).done;
  expect(t.store.count('get', id), `a read ${t.ttlMs - 1} ms after caching, with ttlMs=${t.ttlMs}: the entry is still fresh`).toBe(1);
  await t.clock.advance(1);
  expect(await t.read(id).done, 'a read after expiry answers the product from the store').toEqual(t.store.peek(id));
  expect(t.store.count('get', id), `a read exactly ttlMs=${t.ttlMs} ms after caching: the entry has expired, the store is asked again`).toBe(2);
  await t.clock.advance(t.ttlMs - 1);
  await t.read(id).done;
  expect(t.store.count('get', id), 'the reloaded entry is fresh for ttlMs again, counted from when it was reloaded').toBe(2);
});

it('writes to the store and invalidates that product only: its next read loads the new version', async () => {
  const t = setup();
  const [id, other] = t.ids as [string, string];
  await t.read(id).done;
  await t.read(other).done;
  await t.clock.advance(random.int(0, t.ttlMs - 1));
  const updated = { ...product(id), name: `Renamed ${random.word(4)}` };
  await t.write(updated).done;
  expect(t.store.peek(id), 'updateProduct saves the product in the store').toEqual(updated);
  expect(await t.read(id).done, 'the read after the write answers the new version').toEqual(updated);
  expect(t.store.count('get', id), 'the write invalidated the entry: the next read loaded from the store').toBe(2);
  await t.read(other).done;
  expect(t.store.count('get', other), 'a write invalidates the written product only: the others stay cached').toBe(1);
});

it('does not let a slow read that started before a write put the old version back in the cache', async () => {
  const slowGet = random.int(100, 300);
  const fastSet = random.int(1, 20);
  const t = setup({ ttlMs: random.int(2_000, 10_000), latency: (call) => (call.operation === 'get' ? slowGet : fastSet) });
  const id = random.pick(t.ids);
  const old = t.store.peek(id);
  const slow = t.read(id);
  await t.clock.advance(random.int(1, slowGet - fastSet - 1));
  const updated = product(id);
  const writing = t.write(updated);
  await t.clock.advance(fastSet);
  await writing.done;
  await t.clock.advance(slowGet);
  expect([old, updated], 'the slow read overlapped the write: it answers the old version or the new one').toContainEqual(await slow.done);
  const after = t.read(id);
  await t.clock.advance(slowGet);
  const answer = await after.done;
  expect(
    answer,
    `a read that starts after the write finished must see the new version (priceCents ${updated.priceCents}), ` +
      `not the old one (priceCents ${old?.priceCents}) that a read which started before the write put in the cache`,
  ).toEqual(updated);
});

it('never answers an old version after a write, under random interleavings of reads, writes and time', async () => {
  for (let round = 0; round < 4; round++) {
    const t = setup({ ttlMs: random.int(30, 400), ids: random.int(1, 3), latency: () => random.pick([0, random.int(1, 60)]) });
    let seq = 0;
    interface Write { id: string; value: Product; start: number; end: number }
    interface Read { op: number; id: string; start: number; end: number; answer: Product | undefined }
    const writes: Write[] = [];
    const reads: Read[] = [];
    const seeds = new Map(t.ids.map((id) => [id, t.store.peek(id)]));
    const inFlight: Promise<unknown>[] = [];
    const writing = new Set<string>();
    for (let step = 0; step < 50; step++) {
      const roll = Math.random();
      const id = random.pick(t.ids);
      if (roll < 0.5) {
        const read: Read = { op: 0, id, start: ++seq, end: Infinity, answer: undefined };
        const { op, done } = t.read(id);
        read.op = op;
        reads.push(read);
        inFlight.push(done.then((answer) => {
          read.end = ++seq;
          read.answer = answer;
        }));
      } else if (roll < 0.7 && !writing.has(id)) {
        // Writes of one product never overlap: which one is "the latest" is then unambiguous.
        const write: Write = { id, value: product(id), start: ++seq, end: Infinity };
        writes.push(write);
        writing.add(id);
        inFlight.push(t.write(write.value).done.then(() => {
          write.end = ++seq;
          writing.delete(id);
        }));
      } else {
        await t.clock.advance(random.int(1, 80));
      }
      await flushMicrotasks();
    }
    await t.clock.runAll();
    await flushMicrotasks();
    const unfinished = [...reads, ...writes].filter((o) => o.end === Infinity).length;
    expect(unfinished, 'every read and write finishes once the store has answered').toBe(0);
    await Promise.all(inFlight);

    for (const read of reads) {
      const ofId = writes.filter((w) => w.id === read.id);
      const before = ofId.filter((w) => w.end < read.start);
      const latest = before.length > 0 ? before[before.length - 1]?.value : seeds.get(read.id);
      const overlapping = ofId.filter((w) => w.end > read.start && w.start < read.end).map((w) => w.value);
      const allowed = [latest, ...overlapping];
      const ok = allowed.some((p) => JSON.stringify(p) === JSON.stringify(read.answer));
      expect(
        ok,
        `read #${read.op} of ${read.id} answered ${show(read.answer)}, but the last write that finished before it started ` +
          `saved ${show(latest)}` +
          (overlapping.length > 0 ? ` (and writes running at the same time saved ${overlapping.map(show).join(', ')})` : '') +
          ': a read after a write must never see the version before it',
      ).toBe(true);
    }
    for (const read of reads) expectReadSpan(read.op, read.id, undefined, 'every read is a "get product" span with app.cache.hit');
    const misses = otel.spans().filter((s) => s.name === 'get product' && s.attributes[HIT] === false);
    expect(t.store.count('get'), 'the store is read once per miss, and never on a hit').toBe(misses.length);
    otel.reset();
  }
});

it('traces a miss, a hit and an expired entry: app.cache.hit, and a store span only on a miss', async () => {
  const t = setup();
  const id = random.pick(t.ids);
  const miss = t.read(id);
  await miss.done;
  await t.clock.advance(random.int(0, t.ttlMs - 1));
  const hit = t.read(id);
  await hit.done;
  await t.clock.advance(t.ttlMs);
  const expired = t.read(id);
  await expired.done;
  expectAllEnded(otel, 'every span ends');
  expectReadSpan(miss.op, id, false, 'the first read is a miss: app.cache.hit=false, and the store span "get products" under it');
  expectReadSpan(hit.op, id, true, 'a read within the TTL is a hit: app.cache.hit=true, and no store span');
  expectReadSpan(expired.op, id, false, 'an expired entry is a miss: app.cache.hit=false, and the store span under it');
});

it('traces a write as "update product" with the store span "set products" under it', async () => {
  const t = setup();
  const id = random.pick(t.ids);
  const write = t.write(product(id));
  await write.done;
  expectAllEnded(otel, 'every span ends');
  expectTrace(
    otel,
    {
      name: 'request',
      attributes: { [OP]: write.op },
      children: [
        {
          name: 'update product',
          kind: 'internal',
          attributes: { [PRODUCT_ID]: id },
          children: [{ name: 'set products', kind: 'client' }],
        },
      ],
    },
    'a write is an "update product" span with app.product.id, and the store write under it',
  );
});

it('follows the cache in its spans for a random sequence of reads, writes and time passing', async () => {
  const t = setup({ ids: random.int(1, 3) });
  const cached = new Map<string, number>();
  const latest = new Map(t.ids.map((id) => [id, t.store.peek(id)]));
  for (let step = 0; step < 40; step++) {
    const id = random.pick(t.ids);
    const roll = Math.random();
    if (roll < 0.55) {
      const expiresAt = cached.get(id);
      const hit = expiresAt !== undefined && t.clock.now() < expiresAt;
      const { op, done } = t.read(id);
      expect(await done, `read #${op} of ${id} answers the last version written`).toEqual(latest.get(id));
      const why = hit
        ? `read #${op} of ${id}: cached until ${expiresAt}, and the clock says ${t.clock.now()}: a hit`
        : expiresAt === undefined
          ? `read #${op} of ${id}: not in the cache (never read, or invalidated by a write): a miss`
          : `read #${op} of ${id}: its entry expired at ${expiresAt}, and the clock says ${t.clock.now()}: a miss`;
      expectReadSpan(op, id, hit, why);
      if (!hit) cached.set(id, t.clock.now() + t.ttlMs);
    } else if (roll < 0.75) {
      const next = product(id);
      await t.write(next).done;
      latest.set(id, next);
      cached.delete(id);
    } else {
      await t.clock.advance(random.pick([1, random.int(1, t.ttlMs), t.ttlMs]));
    }
  }
  expect(ATTR_CACHE_HIT, 'the exported constant names the hit attribute').toBe(HIT);
  expect(ATTR_PRODUCT_ID, 'the exported constant names the product id attribute').toBe(PRODUCT_ID);
});
