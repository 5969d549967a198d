import { it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { expectAllEnded, expectThat, expectTrace, random, show, spansNamed, useTracing, verify, where, type SpanNode, type TraceTree } from '#checks';
import { FakeClock, SlowStore, flushMicrotasks } from '#kit';
import { ProductCache, type Product } from '#target/02-resilience/07-cache-stampede/product-cache.ts';

const otel = useTracing();

const GET = 'get product';
const LOAD = 'load product';
const SCOPE = 'tracecraft.product-cache';
/** The checker's own span around each call: every caller is a request of its own, in a trace of its own. */
const REQUEST = 'GET /products/:id';

const notTrue = where('absent or false', (v) => v === undefined || v === false);

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('N concurrent misses on one product make one store load, and every caller gets its product', async () => {
  const product = makeProduct();
  const { cache, store } = setup([product]);
  store.hold();
  const first = times(random.int(2, 6), () => call(cache, product.id));
  await flushMicrotasks();
  verify(store.loadsOf(product.id), `${first.length} callers missed ${product.id} at once: the store loads (one; the others wait for it: single-flight)`).hasCount(1, 'load');
  const late = times(random.int(1, 5), () => call(cache, product.id));
  await flushMicrotasks();
  verify(store.loadsOf(product.id), `${late.length} more callers arrived while that load was in flight: the store loads (they wait for it too)`).hasCount(1, 'load');
  await store.release();
  const results = await outcomes([...first, ...late]);
  results.forEach((result, i) => expectFulfilled(result, product, `caller #${i + 1} of ${results.length}, who waited for the one load`));
  expectFulfilled(await call(cache, product.id).outcome, product, 'a caller once the product is loaded');
  verify(store.loadsOf(product.id), 'the store loads once the product is cached (the next caller is a hit)').hasCount(1, 'load');
});

it('when a hot product expires, the callers that miss together still make one load', async () => {
  const product = makeProduct();
  const { cache, store, clock, ttlMs, jitter } = setup([product]);
  await call(cache, product.id).outcome;
  await clock.advance(ttlMs * (1 + jitter) + 1);
  store.hold();
  const callers = times(random.int(3, 10), () => call(cache, product.id));
  await flushMicrotasks();
  verify(store.loadsOf(product.id), `the cached entry expired and ${callers.length} callers missed at once: the store loads (the first one, and one reload: no stampede)`).hasCount(2, 'load');
  await store.release();
  (await outcomes(callers)).forEach((result, i) => expectFulfilled(result, product, `caller #${i + 1} of ${callers.length}, after the reload`));
});

it('misses on different products load independently: a slow product does not hold up another', async () => {
  const slow = makeProduct();
  const fast = makeProduct();
  const { cache, store } = setup([slow, fast]);
  store.hold();
  const onSlow = times(random.int(1, 4), () => call(cache, slow.id));
  const onFast = times(random.int(1, 4), () => call(cache, fast.id));
  let slowSettled = 0;
  for (const c of onSlow) void c.outcome.then(() => slowSettled++);
  await flushMicrotasks();
  verify(
    [store.loadsOf(slow.id), store.loadsOf(fast.id)],
    `the loads in flight of ${slow.id} and of ${fast.id} (single-flight is per id, not one lock for the whole cache: one each, at the same time)`,
  ).equals([1, 1]);
  await store.release(fast.id);
  (await outcomes(onFast)).forEach((result, i) => expectFulfilled(result, fast, `caller #${i + 1} of ${fast.id}, as soon as its own load answered`));
  verify(slowSettled, `the callers of ${slow.id} answered while its load has not (they still wait for it)`).hasCount(0, 'caller');
  await store.release(slow.id);
  (await outcomes(onSlow)).forEach((result, i) => expectFulfilled(result, slow, `caller #${i + 1} of ${slow.id}, once its load answered`));
});

it('a failed load reaches every caller that waited for it, and is not cached: the next call asks the store again', async () => {
  const product = makeProduct();
  const { cache, store } = setup([product]);
  store.hold();
  const callers = times(random.int(2, 8), () => call(cache, product.id));
  await flushMicrotasks();
  verify(store.loadsOf(product.id), `${callers.length} concurrent misses: the store loads`).hasCount(1, 'load');
  const error = storeError();
  await store.fail(error);
  (await outcomes(callers)).forEach((result, i) => {
    expectThat(
      result.status === 'rejected' && result.reason === error,
      `caller #${i + 1} of ${callers.length} gets the load's error, the very error object the store rejected with (${show(error)})`,
      result.status === 'rejected' ? `it got ${show(result.reason)}` : `it resolved with ${show(result.value)}`,
    );
  });
  store.resume();
  const next = await call(cache, product.id).outcome;
  verify(store.loadsOf(product.id), 'the store loads once the next call came after the failed load (an error is not cached, not even as "not found": it asks again)').hasCount(2, 'load');
  expectFulfilled(next, product, 'the call after the store recovered');
});

it('freshness: an entry lives from when the store answered, fresh 1 ms before written + T and expired exactly then', async () => {
  // jitter 0 and a "not found" have TTLs known to the millisecond; the store takes time to answer.
  for (const kind of ['product', 'not found'] as const) {
    const product = makeProduct();
    const t = setup(kind === 'product' ? [product] : [], { jitter: 0 });
    const ttl = kind === 'product' ? t.ttlMs : t.negativeTtlMs;
    const slowMs = random.int(1, Math.floor(ttl / 2));
    const started = t.clock.now();
    t.store.hold();
    const first = call(t.cache, product.id);
    await flushMicrotasks();
    await t.clock.advance(slowMs);
    await t.store.release();
    t.store.resume();
    await first.outcome;
    const written = t.clock.now();
    const story = `${kind === 'product' ? 'a product' : 'a "not found"'} asked for at t+0 and answered by the store at t+${written - started} ms, with a TTL of ${ttl} ms (${kind === 'product' ? 'ttlMs, jitter 0' : 'negativeTtlMs'})`;
    await t.clock.advanceTo(written + ttl - 1);
    await call(t.cache, product.id).outcome;
    verify(t.store.loadsOf(product.id), `${story}: the store loads after a lookup at t+${written + ttl - 1 - started} ms, 1 ms before written + T (still fresh)`).hasCount(1, 'load');
    await t.clock.advance(1);
    await call(t.cache, product.id).outcome;
    verify(t.store.loadsOf(product.id), `${story}: the store loads after a lookup at t+${written + ttl - started} ms, exactly written + T (expired: a miss)`).hasCount(2, 'load');
  }
});

it('negative caching: a product the store does not have is remembered for negativeTtlMs, then asked again', async () => {
  const product = makeProduct();
  // A random source far from 0.5, so a jittered "not found" TTL is off by a lot.
  const { cache, store, clock, negativeTtlMs } = setup([], { random: () => random.pick([0.05, 0.95]) });
  store.hold();
  const together = times(random.int(2, 6), () => call(cache, product.id));
  await flushMicrotasks();
  verify(store.loadsOf(product.id), 'concurrent lookups of a missing product: the store loads (they share one, too)').hasCount(1, 'load');
  await store.release();
  (await outcomes(together)).forEach((result, i) => expectFulfilled(result, undefined, `caller #${i + 1} of a product the store does not have`));
  store.resume();
  const t0 = clock.now();

  const lookups = random.int(2, 6);
  const at = [...times(lookups - 1, () => random.int(0, negativeTtlMs - 2)).sort((a, b) => a - b), negativeTtlMs - 1];
  for (const offset of at) {
    await clock.advanceTo(t0 + offset);
    expectFulfilled(await call(cache, product.id).outcome, undefined, `a lookup ${offset} ms after "not found" was cached`);
  }
  verify(
    store.loadsOf(product.id),
    `${lookups} more lookups of the missing ${product.id} within negativeTtlMs (${negativeTtlMs} ms, the last one at ${negativeTtlMs - 1} ms): the store loads (remember "not found" too)`,
  ).hasCount(1, 'load');

  store.set(product.id, product);
  await clock.advanceTo(t0 + negativeTtlMs);
  expectFulfilled(
    await call(cache, product.id).outcome,
    product,
    `a lookup exactly negativeTtlMs (${negativeTtlMs} ms, no jitter) after "not found" was cached, once the store has the product`,
  );
  verify(store.loadsOf(product.id), 'the store loads after the expired "not found" was looked up again').hasCount(2, 'load');
});

it('TTL jitter: products cached at the same instant expire spread over ttlMs × (1 − jitter) … ttlMs × (1 + jitter)', async () => {
  const products = times(random.int(30, 50), makeProduct);
  const { cache, store, clock, ttlMs, jitter } = setup(products);
  const t0 = clock.now();
  await Promise.all(products.map((p) => cache.get(p.id)));
  verify(store.loads, 'the loads of products, each asked for once').hasCount(products.length, 'load');

  const lo = ttlMs * (1 - jitter);
  const hi = ttlMs * (1 + jitter);
  const slices = 10;
  // Probe 0 is just before the range; probe k (1..10) ends the k-th tenth of it (the last one just after it).
  const probes = [lo - 1, ...times(slices - 1, (k) => lo + ((hi - lo) * (k + 1)) / slices), hi + 1];
  const expiredAt = new Map<string, number>();
  for (const [k, offset] of probes.entries()) {
    await clock.advanceTo(t0 + offset);
    for (const p of products) {
      if (expiredAt.has(p.id)) continue;
      const before = store.loadsOf(p.id);
      await cache.get(p.id);
      if (store.loadsOf(p.id) > before) expiredAt.set(p.id, k);
    }
  }
  const range = `ttlMs=${ttlMs}, jitter=${jitter}: between ${Number(lo.toFixed(2))} and ${Number(hi.toFixed(2))} ms`;
  verify(products.filter((p) => expiredAt.get(p.id) === 0), `the entries that expired before ttlMs × (1 − jitter) (${range})`).hasCount(0, 'entry|entries');
  verify(products.filter((p) => !expiredAt.has(p.id)), `the entries still cached after ttlMs × (1 + jitter) (${range})`).hasCount(0, 'entry|entries');
  const used = new Set(expiredAt.values()).size;
  verify(
    used,
    `the slices of their range (${range}, cut in ${slices}) in which ${products.length} products cached at the same instant expired ` +
      '(entries written together must not expire together: draw each entry\'s TTL with random())',
  ).isAtLeast(5);
});

it('TTL jitter draws from the injected random source: TTL = ttlMs × (1 − jitter + 2 × jitter × random())', async () => {
  // Exact binary fractions, so every way of writing the formula gives the same TTL to the millisecond.
  const r = random.pick([0, 0.125, 0.25, 0.375, 0.625, 0.75, 0.875]);
  const jitter = random.pick([0.125, 0.25, 0.375]);
  const ttlMs = random.int(40, 300) * 64;
  const products = times(random.int(4, 10), makeProduct);
  const { cache, store, clock, randomCalls } = setup(products, { random: () => r, jitter, ttlMs });
  const t0 = clock.now();
  await Promise.all(products.map((p) => cache.get(p.id)));
  verify(randomCalls(), 'the calls the cache made to the random source it was given (options.random, not Math.random)').isAtLeast(products.length);
  const ttl = ttlMs * (1 - jitter + 2 * jitter * r);
  const formula = `with ttlMs=${ttlMs}, jitter=${jitter} and random() always ${r}, every TTL is ${ttlMs} × (1 − ${jitter} + 2 × ${jitter} × ${r}) = ${ttl} ms`;

  await clock.advanceTo(t0 + ttl - 1);
  await Promise.all(products.map((p) => cache.get(p.id)));
  verify(store.loads.length - products.length, `${formula}: the reloads 1 ms before that (none: still fresh)`).hasCount(0, 'reload');

  await clock.advanceTo(t0 + ttl);
  await Promise.all(products.map((p) => cache.get(p.id)));
  verify(products.filter((p) => store.loadsOf(p.id) === 2), `${formula}: the products reloaded exactly then (every one: expired)`).hasCount(products.length, 'product');
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

it('trace: one store span under the loader\'s span; every waiter links to the loader\'s span and says it coalesced', async () => {
  const product = makeProduct();
  const { cache, store } = setup([product]);
  store.hold();
  const callers = times(random.int(2, 7), () => call(cache, product.id));
  await flushMicrotasks();
  await store.release();
  await outcomes(callers);
  expectAllEnded(otel);

  verify(spansNamed(otel, LOAD), `${callers.length} concurrent misses`).hasCount(1, `"${LOAD}" span`);
  verify(spansNamed(otel, GET), `${callers.length} callers, each with a span of its own`).hasCount(callers.length, `"${GET}" span`);
  const { loader, loaderCall } = expectLoader(callers);

  expectTrace(
    traceOf(loaderCall),
    {
      name: REQUEST,
      children: [
        {
          name: GET,
          kind: 'internal',
          scope: SCOPE,
          status: 'unset',
          attributes: { 'app.product.id': product.id, 'app.cache.hit': false, 'app.cache.coalesced': notTrue },
          linkCount: 0,
          children: [{ name: LOAD, kind: 'client', scope: SCOPE, status: 'unset', attributes: { 'app.product.id': product.id } }],
        },
      ],
    },
    'the loader: a miss, no link (a span does not link to itself), and the one store span as its child',
  );
  for (const c of callers.filter((c) => c !== loaderCall)) {
    expectTrace(
      traceOf(c),
      {
        name: REQUEST,
        children: [
          {
            name: GET,
            kind: 'internal',
            scope: SCOPE,
            status: 'unset',
            attributes: { 'app.product.id': product.id, 'app.cache.hit': false, 'app.cache.coalesced': true },
            linkCount: 1,
            links: [{ to: { traceId: loader.traceId, spanId: loader.spanId } }],
          },
        ],
      },
      'a waiter: app.cache.coalesced=true and one link to the loader\'s "get product" span, which is in another trace and so cannot be its parent',
    );
  }
  const waiters = callers.filter((c) => c !== loaderCall).map((c) => c.traceId);
  verify(spansNamed(otel, LOAD).filter((s) => waiters.includes(s.traceId)), `the traces of the ${waiters.length} waiters (the load is the loader's)`).hasCount(0, `"${LOAD}" span`);
});

it('trace: a hit has no store span, and a remembered "not found" is a negative hit', async () => {
  const product = makeProduct();
  const missing = random.id('sku-');
  const { cache, clock, negativeTtlMs } = setup([product]);
  await call(cache, product.id).outcome;
  const miss = call(cache, missing);
  await miss.outcome;
  await clock.advance(random.int(1, negativeTtlMs - 1));
  const hit = call(cache, product.id);
  const negative = call(cache, missing);
  await outcomes([hit, negative]);
  expectAllEnded(otel);

  expectTrace(
    traceOf(miss),
    {
      name: REQUEST,
      children: [
        {
          name: GET,
          status: 'unset',
          attributes: { 'app.product.id': missing, 'app.cache.hit': false, 'app.cache.negative_hit': notTrue },
          children: [{ name: LOAD, kind: 'client', status: 'unset', attributes: { 'app.product.id': missing } }],
        },
      ],
    },
    '"not found" is an answer, not an error: the store span of a missing product stays UNSET',
  );
  expectTrace(
    traceOf(hit),
    {
      name: REQUEST,
      children: [
        {
          name: GET,
          kind: 'internal',
          scope: SCOPE,
          attributes: { 'app.product.id': product.id, 'app.cache.hit': true, 'app.cache.negative_hit': notTrue, 'app.cache.coalesced': notTrue },
          linkCount: 0,
        },
      ],
    },
    'a hit: app.cache.hit=true and no link',
  );
  expectTrace(
    traceOf(negative),
    {
      name: REQUEST,
      children: [
        {
          name: GET,
          kind: 'internal',
          scope: SCOPE,
          attributes: { 'app.product.id': missing, 'app.cache.hit': true, 'app.cache.negative_hit': true, 'app.cache.coalesced': notTrue },
          linkCount: 0,
        },
      ],
    },
    'a negative hit: the remembered "not found" answers, with app.cache.hit=true and app.cache.negative_hit=true, and no link',
  );
  verify(spansNamed(otel, LOAD).filter((s) => s.traceId === hit.traceId || s.traceId === negative.traceId), 'the traces of a hit and of a negative hit (answered from the cache)').hasCount(0, `"${LOAD}" span`);
});

it('trace: a failed load makes an ERROR store span, and every caller\'s span is ERROR with error.type', async () => {
  const product = makeProduct();
  const { cache, store } = setup([product]);
  store.hold();
  const callers = times(random.int(2, 6), () => call(cache, product.id));
  await flushMicrotasks();
  const error = storeError();
  await store.fail(error);
  await outcomes(callers);
  expectAllEnded(otel, 'every span ends, also when the load fails');

  verify(spansNamed(otel, LOAD), `${callers.length} concurrent misses whose load fails`).hasCount(1, `"${LOAD}" span`);
  const { loader, loaderCall } = expectLoader(callers);

  expectTrace(
    traceOf(loaderCall),
    {
      name: REQUEST,
      children: [
        {
          name: GET,
          status: 'error',
          attributes: { 'error.type': error.name },
          children: [
            {
              name: LOAD,
              kind: 'client',
              status: 'error',
              attributes: { 'app.product.id': product.id, 'error.type': error.name },
              events: [{ name: 'exception', attributes: { 'exception.type': error.name } }],
            },
          ],
        },
      ],
    },
    'the failed load: its store span is ERROR with error.type and an exception event, and so is the loader\'s span',
  );
  for (const c of callers.filter((c) => c !== loaderCall)) {
    expectTrace(
      traceOf(c),
      {
        name: REQUEST,
        children: [
          {
            name: GET,
            status: 'error',
            attributes: { 'error.type': error.name, 'app.cache.coalesced': true },
            links: [{ to: { traceId: loader.traceId, spanId: loader.spanId } }],
          },
        ],
      },
      'a waiter gets the load\'s error: its span is ERROR with error.type, and still links to the loader\'s span',
    );
  }
});

// ---------------------------------------------------------------------------------------------
// The rig: a cache in front of a SlowStore on a FakeClock; every caller a request of its own.
// ---------------------------------------------------------------------------------------------

function times<T>(n: number, make: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => make(i));
}

function makeProduct(): Product {
  return { id: random.id('sku-'), name: `${random.word(5)} ${random.word(7)}`, priceCents: random.int(100, 99_999) };
}

function storeError(): Error {
  const error = new Error(`product store 10.0.${random.int(0, 255)}.${random.int(1, 254)} timed out`);
  error.name = random.pick(['StoreTimeoutError', 'StoreUnavailableError', 'ConnectionResetError']);
  return error;
}

interface Setup {
  cache: ProductCache;
  store: SlowStore<Product>;
  clock: FakeClock;
  ttlMs: number;
  jitter: number;
  negativeTtlMs: number;
  /** How many times the cache called the random source it was given. */
  randomCalls(): number;
}

function setup(products: Product[], options: { random?: () => number; jitter?: number; ttlMs?: number } = {}): Setup {
  const clock = new FakeClock(random.int(0, 1_000_000));
  const ttlMs = options.ttlMs ?? random.int(2_000, 20_000);
  const jitter = options.jitter ?? random.int(10, 40) / 100;
  const shortest = ttlMs * (1 - Math.max(jitter, 0.1));
  // Well below the shortest jittered TTL, so a "not found" kept as long as a product is caught.
  const negativeTtlMs = random.int(Math.ceil(shortest / 10), Math.floor(shortest / 3));
  const store = new SlowStore<Product>(products.map((p) => [p.id, p] as const));
  const source = options.random ?? Math.random;
  let calls = 0;
  const counted = (): number => {
    calls++;
    return source();
  };
  const cache = new ProductCache({ store, clock, ttlMs, jitter, negativeTtlMs, random: counted });
  return { cache, store, clock, ttlMs, jitter, negativeTtlMs, randomCalls: () => calls };
}

type Outcome = PromiseSettledResult<Product | undefined>;

interface Call {
  /** The trace of this caller's request. */
  traceId: string;
  /** Settles with the outcome, never rejects: a check decides when to look. */
  outcome: Promise<Outcome>;
}

/** One caller: a request span of the checker's, in a new trace, that calls cache.get inside it. */
function call(cache: ProductCache, id: string): Call {
  let traceId = '';
  const result = otel.tracer('tracecraft.checker').startActiveSpan(REQUEST, { kind: SpanKind.SERVER, root: true }, async (span) => {
    traceId = span.spanContext().traceId;
    try {
      return await cache.get(id);
    } finally {
      span.end();
    }
  });
  const outcome = result.then(
    (value): Outcome => ({ status: 'fulfilled', value }),
    (reason: unknown): Outcome => ({ status: 'rejected', reason }),
  );
  return { traceId, outcome };
}

function outcomes(calls: readonly Call[]): Promise<Outcome[]> {
  return Promise.all(calls.map((c) => c.outcome));
}

/** The caller resolved with `expected` (a product, or undefined for "not found"). */
function expectFulfilled(outcome: Outcome, expected: Product | undefined, who: string): void {
  const want = expected === undefined ? 'undefined ("not found")' : `the product ${expected.id}`;
  expectThat(outcome.status === 'fulfilled', `${who} resolves with ${want}`, outcome.status === 'rejected' ? `it rejected with ${show(outcome.reason)}` : '');
  verify(outcome.value, `what ${who} resolved with`).equals(expected);
}

function traceOf(c: Call): TraceTree[] {
  return otel.traces().filter((t) => t.traceId === c.traceId);
}

/**
 * The "get product" span that parents the one store span (the loader's), and the call it belongs to.
 * Fails, saying why, when the store span hangs anywhere else.
 */
function expectLoader(calls: readonly Call[]): { loader: SpanNode; loaderCall: Call } {
  const load = spansNamed(otel, LOAD)[0];
  const parent = load && otel.spans().find((s) => s.spanId === load.parentSpanId);
  const place = !load ? `there is no "${LOAD}" span` : parent ? `"${LOAD}" is a child of "${parent.name}"` : `"${LOAD}" is a root span`;
  expectThat(parent?.name === GET, `the store span "${LOAD}" is a child of the loader's "${GET}" span (start it while that span is active, inside its startActiveSpan callback)`, place);
  const loaderCall = calls.find((c) => c.traceId === parent.traceId);
  expectThat(loaderCall !== undefined, `the loader's "${GET}" span is a child of its caller's span ("${REQUEST}"), in the caller's trace`, 'it is in no caller\'s trace');
  return { loader: parent, loaderCall };
}

