import { expect, it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { expectAllEnded, expectTrace, random, spansNamed, useTracing, where, type SpanNode, type SpanShape, type TraceTree } from '#checks';
import { FakeClock, SlowStore, flushMicrotasks } from '#kit';
import { ProductCache, type Product } from '#target/02-resilience/07-cache-stampede/product-cache.ts';

const otel = useTracing();

const GET = 'get product';
const LOAD = 'load product';
/** The checker's own span around each call: every caller is a request of its own, in a trace of its own. */
const REQUEST = 'GET /products/:id';

const notTrue = where('absent or false', (v) => v === undefined || v === false);

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

function setup(products: Product[], source: () => number = Math.random): Setup {
  const clock = new FakeClock(random.int(0, 1_000_000));
  const ttlMs = random.int(2_000, 20_000);
  const jitter = random.int(10, 40) / 100;
  const shortest = ttlMs * (1 - jitter);
  // Well below the shortest jittered TTL, so a "not found" kept as long as a product is caught.
  const negativeTtlMs = random.int(Math.ceil(shortest / 10), Math.floor(shortest / 3));
  const store = new SlowStore<Product>(products.map((p) => [p.id, p] as const));
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
  const place = parent ? `"${LOAD}" is a child of "${parent.name}"` : `"${LOAD}" is a root span`;
  expect(
    parent?.name,
    `${place}: start it while the loader's "${GET}" span is active (inside its startActiveSpan callback), so that it is its child`,
  ).toBe(GET);
  const loaderCall = calls.find((c) => c.traceId === parent?.traceId);
  expect(loaderCall, `the loader's "${GET}" span must be a child of its caller's span ("${REQUEST}"), in the caller's trace`).toBeDefined();
  if (!parent || !loaderCall) throw new Error('unreachable: checked above');
  return { loader: parent, loaderCall };
}

it('N concurrent misses on one product make one store load, and every caller gets its product', async () => {
  const product = makeProduct();
  const { cache, store } = setup([product]);
  store.hold();
  const first = times(random.int(2, 6), () => call(cache, product.id));
  await flushMicrotasks();
  expect(store.loadsOf(product.id), `${first.length} callers missed product ${product.id} at once: the store must be asked once, and the others wait for that load (single-flight)`).toBe(1);
  const late = times(random.int(1, 5), () => call(cache, product.id));
  await flushMicrotasks();
  expect(store.loadsOf(product.id), 'callers that arrive while the load is still in flight wait for it too, instead of loading again').toBe(1);
  await store.release();
  const results = await outcomes([...first, ...late]);
  results.forEach((result, i) => {
    expect(result, `caller #${i + 1} of ${results.length} gets the product that the one load returned`).toEqual({ status: 'fulfilled', value: product });
  });
  await call(cache, product.id).outcome;
  expect(store.loadsOf(product.id), 'once loaded, the product is served from the cache').toBe(1);
});

it('when a hot product expires, the callers that miss together still make one load', async () => {
  const product = makeProduct();
  const { cache, store, clock, ttlMs, jitter } = setup([product]);
  await call(cache, product.id).outcome;
  await clock.advance(ttlMs * (1 + jitter) + 1);
  store.hold();
  const callers = times(random.int(3, 10), () => call(cache, product.id));
  await flushMicrotasks();
  expect(store.loadsOf(product.id), `the cached entry expired and ${callers.length} callers missed at once: one of them reloads it, the others wait (no stampede)`).toBe(2);
  await store.release();
  for (const result of await outcomes(callers)) expect(result, 'every caller gets the reloaded product').toEqual({ status: 'fulfilled', value: product });
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
  expect(
    [store.loadsOf(slow.id), store.loadsOf(fast.id)],
    'each product has its own load, and both are in flight at the same time: single-flight is per id, not one lock for the whole cache',
  ).toEqual([1, 1]);
  await store.release(fast.id);
  for (const result of await outcomes(onFast)) {
    expect(result, `the callers of ${fast.id} get it as soon as its own load answers`).toEqual({ status: 'fulfilled', value: fast });
  }
  expect(slowSettled, `the callers of ${slow.id} still wait for its load, which has not answered`).toBe(0);
  await store.release(slow.id);
  for (const result of await outcomes(onSlow)) expect(result, `the callers of ${slow.id} get it when its load answers`).toEqual({ status: 'fulfilled', value: slow });
});

it('a failed load reaches every caller that waited for it, and is not cached: the next call asks the store again', async () => {
  const product = makeProduct();
  const { cache, store } = setup([product]);
  store.hold();
  const callers = times(random.int(2, 8), () => call(cache, product.id));
  await flushMicrotasks();
  expect(store.loadsOf(product.id), `${callers.length} concurrent misses make one store load`).toBe(1);
  const error = storeError();
  await store.fail(error);
  const results = await outcomes(callers);
  results.forEach((result, i) => {
    expect(result, `caller #${i + 1} of ${results.length} gets the load's error, the same error object the store rejected with`).toEqual({ status: 'rejected', reason: error });
    if (result.status === 'rejected') expect(result.reason, 'the same error object, not a copy').toBe(error);
  });
  store.resume();
  const next = await call(cache, product.id).outcome;
  expect(store.loadsOf(product.id), 'an error is not cached (not even as "not found"): the call after a failed load asks the store again').toBe(2);
  expect(next, 'after the store recovers, the next call gets the product').toEqual({ status: 'fulfilled', value: product });
});

it('negative caching: a product the store does not have is remembered for negativeTtlMs, then asked again', async () => {
  const product = makeProduct();
  const { cache, store, clock, negativeTtlMs } = setup([]);
  const t0 = clock.now();
  store.hold();
  const together = times(random.int(2, 6), () => call(cache, product.id));
  await flushMicrotasks();
  expect(store.loadsOf(product.id), 'concurrent lookups of a missing product share one load too').toBe(1);
  await store.release();
  for (const result of await outcomes(together)) expect(result, 'a product the store does not have is undefined').toEqual({ status: 'fulfilled', value: undefined });
  store.resume();

  const lookups = random.int(2, 6);
  const at = times(lookups, () => random.int(0, negativeTtlMs - 1)).sort((a, b) => a - b);
  for (const offset of at) {
    await clock.advanceTo(t0 + offset);
    expect(await call(cache, product.id).outcome, 'still not found').toEqual({ status: 'fulfilled', value: undefined });
  }
  expect(
    store.loadsOf(product.id),
    `${lookups} more lookups of the missing ${product.id} within negativeTtlMs (${negativeTtlMs} ms) must not reach the store: remember "not found" too`,
  ).toBe(1);

  store.set(product.id, product);
  await clock.advanceTo(t0 + negativeTtlMs + 1);
  expect(
    await call(cache, product.id).outcome,
    `after negativeTtlMs (${negativeTtlMs} ms, much shorter than the TTL of a product) the store is asked again, and the product it has now is returned`,
  ).toEqual({ status: 'fulfilled', value: product });
  expect(store.loadsOf(product.id), 'the expired "not found" made exactly one new load').toBe(2);
});

it('TTL jitter: products cached at the same instant expire spread over ttlMs × (1 − jitter) … ttlMs × (1 + jitter)', async () => {
  const products = times(random.int(30, 50), makeProduct);
  const { cache, store, clock, ttlMs, jitter } = setup(products);
  const t0 = clock.now();
  await Promise.all(products.map((p) => cache.get(p.id)));
  expect(store.loads.length, 'every product is loaded once').toBe(products.length);

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
  const range = `ttlMs=${ttlMs}, jitter=${jitter}: between ${lo} and ${hi} ms`;
  const early = products.filter((p) => expiredAt.get(p.id) === 0).length;
  expect(early, `${early} of ${products.length} entries expired before ttlMs × (1 − jitter) (${range})`).toBe(0);
  const lasting = products.filter((p) => !expiredAt.has(p.id)).length;
  expect(lasting, `${lasting} of ${products.length} entries were still cached after ttlMs × (1 + jitter) (${range})`).toBe(0);
  const used = new Set(expiredAt.values()).size;
  expect(
    used,
    `${products.length} products cached at the same instant expired in only ${used} of ${slices} equal slices of their range (${range}): ` +
      'entries written together must not expire together; draw each entry\'s TTL with random()',
  ).toBeGreaterThanOrEqual(5);
});

it('TTL jitter draws from the injected random source: TTL = ttlMs × (1 − jitter + 2 × jitter × random())', async () => {
  const r = random.int(5, 95) / 100;
  const products = times(random.int(4, 10), makeProduct);
  const { cache, store, clock, ttlMs, jitter, randomCalls } = setup(products, () => r);
  const t0 = clock.now();
  await Promise.all(products.map((p) => cache.get(p.id)));
  expect(randomCalls(), 'the cache must draw its jitter from the random source it was given (options.random), not from Math.random').toBeGreaterThan(0);
  const ttl = ttlMs * (1 - jitter + 2 * jitter * r);
  const formula = `with ttlMs=${ttlMs}, jitter=${jitter} and random() always ${r}, every TTL is ${ttlMs} × (1 − ${jitter} + 2 × ${jitter} × ${r}) = ${ttl} ms`;

  await clock.advanceTo(t0 + ttl - 1);
  await Promise.all(products.map((p) => cache.get(p.id)));
  expect(store.loads.length - products.length, `${formula}, but entries expired before that`).toBe(0);

  await clock.advanceTo(t0 + ttl + 1);
  await Promise.all(products.map((p) => cache.get(p.id)));
  const reloaded = products.filter((p) => store.loadsOf(p.id) === 2).length;
  expect(reloaded, `${formula}, but ${products.length - reloaded} of ${products.length} entries were still cached after that`).toBe(products.length);
});

it('trace: one store span under the loader\'s span; every waiter links to the loader\'s span and says it coalesced', async () => {
  const product = makeProduct();
  const { cache, store } = setup([product]);
  store.hold();
  const callers = times(random.int(2, 7), () => call(cache, product.id));
  await flushMicrotasks();
  await store.release();
  await outcomes(callers);
  expectAllEnded(otel);

  expect(spansNamed(otel, LOAD), `${callers.length} concurrent misses make exactly one "${LOAD}" span`).toHaveLength(1);
  expect(spansNamed(otel, GET), `each of the ${callers.length} callers has its own "${GET}" span`).toHaveLength(callers.length);
  const { loader, loaderCall } = expectLoader(callers);

  expectTrace(
    traceOf(loaderCall),
    {
      name: REQUEST,
      children: [
        {
          name: GET,
          kind: 'internal',
          attributes: { 'app.product.id': product.id, 'app.cache.hit': false, 'app.cache.coalesced': notTrue },
          linkCount: 0,
          children: [{ name: LOAD, kind: 'client', status: 'unset', attributes: { 'app.product.id': product.id } }],
        },
      ],
    },
    'the loader: a miss, no link (a span does not link to itself), and the one store span as its child',
  );
  const waiter: SpanShape = {
    name: REQUEST,
    children: [
      {
        name: GET,
        kind: 'internal',
        attributes: { 'app.product.id': product.id, 'app.cache.hit': false, 'app.cache.coalesced': true },
        linkCount: 1,
        links: [{ to: { traceId: loader.traceId, spanId: loader.spanId } }],
      },
    ],
  };
  for (const c of callers.filter((c) => c !== loaderCall)) {
    expectTrace(
      traceOf(c),
      waiter,
      'a waiter: app.cache.coalesced=true and one link to the loader\'s "get product" span, which is in another trace and so cannot be its parent',
    );
  }
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
          attributes: { 'app.product.id': missing, 'app.cache.hit': true, 'app.cache.negative_hit': true },
          linkCount: 0,
        },
      ],
    },
    'a negative hit: the remembered "not found" answers, with app.cache.hit=true and app.cache.negative_hit=true, and no link',
  );
  const loadsIn = (c: Call): number => spansNamed(otel, LOAD).filter((s) => s.traceId === c.traceId).length;
  expect(loadsIn(hit), `a hit is answered from the cache: its trace has no "${LOAD}" span`).toBe(0);
  expect(loadsIn(negative), `a negative hit is answered from the cache: its trace has no "${LOAD}" span`).toBe(0);
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

  expect(spansNamed(otel, LOAD), `${callers.length} concurrent misses make exactly one "${LOAD}" span, also when it fails`).toHaveLength(1);
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
