import { it } from 'vitest';
import { expectAllEnded, expectThat, expectTrace, random, show, useTracing, verify, where, type SpanNode, type SpanShape } from '#checks';
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
const SCOPE = 'tracecraft.catalog';
const OP = 'test.op';

it('loads a product from the store on the first read, and serves the next reads within the TTL from the cache', async () => {
  const t = setup();
  const id = random.pick(t.ids);
  const stored = t.store.peek(id);
  const reads = random.int(2, 5);
  for (let i = 0; i < reads; i++) {
    verify(await t.read(id).done, `what read #${i + 1} of ${id} answered`).equals(stored);
    await t.clock.advance(Math.floor((t.ttlMs - 1) / reads));
  }
  verify(t.store.count('get', id), `${reads} reads within the TTL of ${t.ttlMs} ms: the loads from the store (only the first read loads)`).hasCount(1, 'load');
});

it('expires an entry ttlMs after the store answered: fresh 1 ms before, expired exactly then', async () => {
  // The store takes time to answer: the entry is written when the answer arrives, not when the read started.
  const latency = random.int(1, 300);
  const t = setup({ latency: (call) => (call.operation === 'get' ? latency : 0) });
  const id = random.pick(t.ids);
  const started = t.clock.now();
  await t.settle(t.read(id));
  const answered = t.clock.now();
  const at = (time: number): string => `t+${time - started} ms`;
  const story = `the first read started at t+0, the store answered it at ${at(answered)} (it takes ${latency} ms), ttlMs=${t.ttlMs}`;
  await t.clock.advanceTo(answered + t.ttlMs - 1);
  await t.settle(t.read(id));
  verify(t.store.count('get', id), `${story}; a read at ${at(answered + t.ttlMs - 1)}, 1 ms before the entry expires: the loads from the store (the entry is still fresh)`).hasCount(1, 'load');
  await t.clock.advance(1);
  verify(await t.settle(t.read(id)), 'what a read after the expiry answered (the product, from the store)').equals(t.store.peek(id));
  verify(t.store.count('get', id), `${story}; a read at ${at(answered + t.ttlMs)}, exactly ttlMs after the answer was cached: the loads from the store (the entry has expired)`).hasCount(2, 'load');
  const reloaded = t.clock.now();
  await t.clock.advanceTo(reloaded + t.ttlMs - 1);
  await t.settle(t.read(id));
  verify(t.store.count('get', id), `the reload's answer arrived at ${at(reloaded)}: a read ttlMs - 1 ms after that, the loads from the store (fresh again, counted from the reload)`).hasCount(2, 'load');
  await t.clock.advance(1);
  await t.settle(t.read(id));
  verify(t.store.count('get', id), `a read exactly ttlMs after the reload's answer: the loads from the store (expired again)`).hasCount(3, 'load');
});

it('writes to the store and invalidates that product only: its next read loads the new version', async () => {
  const t = setup();
  const [id, other] = t.ids as [string, string];
  await t.read(id).done;
  await t.read(other).done;
  await t.clock.advance(random.int(0, t.ttlMs - 1));
  const updated = { ...product(id), name: `Renamed ${random.word(4)}` };
  await t.write(updated).done;
  verify(t.store.peek(id), `what the store holds for ${id} after updateProduct`).equals(updated);
  verify(t.store.count('get', id), `the loads of ${id} before its next read (a write does not read the store)`).hasCount(1, 'load');
  verify(await t.read(id).done, `what the read of ${id} after the write answered`).equals(updated);
  verify(t.store.count('get', id), `the loads of ${id} once it was read after the write (the write invalidated it, and did not put the new version in the cache: the next read is a miss)`).hasCount(2, 'load');
  await t.read(other).done;
  verify(t.store.count('get', other), `the loads of ${other}, another product, read again within its TTL (a write invalidates the written product only)`).hasCount(1, 'load');
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
  const overlapped = await slow.done;
  expectThat(
    [old, updated].some((p) => JSON.stringify(p) === JSON.stringify(overlapped)),
    `the slow read overlapped the write: it answers the old version (priceCents ${old?.priceCents}) or the new one (priceCents ${updated.priceCents})`,
    `it answered ${describe(overlapped)}`,
  );
  const after = t.read(id);
  await t.clock.advance(slowGet);
  verify(
    await after.done,
    `a read that started after the write finished (it must see the new version, not the old one that a read which started before the write put in the cache): what it answered`,
  ).equals(updated);
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
    verify(unfinished, 'the reads and writes still waiting once the store has answered everything').hasCount(0, 'operation');
    await Promise.all(inFlight);

    for (const read of reads) {
      const ofId = writes.filter((w) => w.id === read.id);
      const before = ofId.filter((w) => w.end < read.start);
      const latest = before.length > 0 ? before[before.length - 1]?.value : seeds.get(read.id);
      const overlapping = ofId.filter((w) => w.end > read.start && w.start < read.end).map((w) => w.value);
      const allowed = [latest, ...overlapping];
      expectThat(
        allowed.some((p) => JSON.stringify(p) === JSON.stringify(read.answer)),
        `a read after a write never sees the version before it: read #${read.op} of ${read.id} started after the last write that finished before it, which saved ${describe(latest)}` +
          (overlapping.length > 0 ? ` (writes running at the same time saved ${overlapping.map(describe).join(', ')})` : ''),
        `it answered ${describe(read.answer)}`,
      );
    }
    for (const read of reads) expectReadSpan(read.op, read.id, undefined, 'every read is a "get product" span with app.cache.hit');
    const misses = otel.spans().filter((s) => s.name === 'get product' && s.attributes[HIT] === false);
    verify(t.store.count('get'), `the loads from the store (one per miss, and never on a hit: ${misses.length} "get product" spans say app.cache.hit=false)`).hasCount(misses.length, 'load');
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
      children: [{ name: 'update product', kind: 'internal', scope: SCOPE, attributes: { [PRODUCT_ID]: id }, children: [{ name: 'set products', kind: 'client' }] }],
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
      verify(await done, `what read #${op} of ${id} answered (the last version written)`).equals(latest.get(id));
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
  verify(ATTR_CACHE_HIT, 'the exported constant ATTR_CACHE_HIT').is(HIT);
  verify(ATTR_PRODUCT_ID, 'the exported constant ATTR_PRODUCT_ID').is(PRODUCT_ID);
});

// ---------------------------------------------------------------------------------------------
// The rig: a catalog on a fake clock, in front of a traced store seeded with a few products.
// ---------------------------------------------------------------------------------------------

let nextPrice = 0;

/** A product with a price no other product of the check has: reads are told apart by it. */
function product(id: string): Product {
  nextPrice += random.int(1, 99);
  return { id, name: `${random.pick(['Lamp', 'Desk', 'Chair', 'Shelf', 'Rug'])} ${random.word(5)}`, priceCents: nextPrice };
}

function productId(): string {
  return `sku-${random.int(1000, 99_999)}-${random.word(3)}`;
}

function describe(p: Product | undefined): string {
  return p === undefined ? 'undefined' : `{ id: ${show(p.id)}, priceCents: ${p.priceCents} }`;
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

  /** Lets a request finish, moving the clock only as far as the store's answers need. */
  async function settle<T>(started: { done: Promise<T> }): Promise<T> {
    let finished = false;
    const done = started.done.finally(() => (finished = true));
    await flushMicrotasks();
    while (!finished && clock.nextDue() !== undefined) await clock.advanceTo(clock.nextDue() as number);
    return done;
  }

  return {
    clock,
    ttlMs,
    ids,
    store,
    catalog,
    settle,
    read: (id: string) => request(() => catalog.getProduct(id)),
    write: (p: Product) => request(() => catalog.updateProduct(p)),
  };
}

/** The `get product` span of request `op`, after checking the README's shape for it. */
function expectReadSpan(op: number, id: string, hit: boolean | undefined, concept: string): SpanNode {
  const shape: SpanShape = {
    name: 'get product',
    kind: 'internal',
    scope: SCOPE,
    attributes: { [HIT]: hit ?? where('true or false', (v) => typeof v === 'boolean'), [PRODUCT_ID]: id },
    children: hit === false ? [{ name: 'get products', kind: 'client' }] : [],
  };
  const tree = expectTrace(otel, { name: 'request', attributes: { [OP]: op }, children: [shape] }, concept);
  const root = tree.roots.find((r) => r.name === 'request' && r.attributes[OP] === op);
  const span = root?.children.find((c) => c.name === 'get product') as SpanNode;
  const loads = span.children.filter((c) => c.name === 'get products');
  if (span.attributes[HIT] === true) {
    verify(loads, `${concept}: a hit (${HIT}=true) has no store span under it, because the store was not asked`).hasCount(0, '"get products" span');
  } else {
    verify(loads, `${concept}: a miss (${HIT}=false) loads from the store once`).hasCount(1, '"get products" span');
  }
  return span;
}
