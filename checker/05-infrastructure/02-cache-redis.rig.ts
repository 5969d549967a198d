/**
 * The rig of the cache-redis checks: two instances of the learner's catalog on one Redis key prefix
 * of the check's own, one traced store behind them, a fake clock for their L1 tier, and a listener of
 * the check's own on the invalidation channel.
 *
 * Every read and write runs inside a root span `request` of the checks (numbered, with the instance's
 * name), so its trace can be found; a call that throws fails the check in words.
 */
import type { Redis } from 'ioredis';
import type { Tracer } from '@opentelemetry/api';
import { fail, random, redisPrefix, show, withoutTracing, type CheckRedis } from '#checks';
import { FakeClock, TracedStore } from '#kit';
import type { Product, ProductCatalog, ProductStore } from '#target/05-infrastructure/02-cache-redis/catalog.ts';

export const OP = 'test.op';
export const INSTANCE = 'test.instance';

/** The key the README names for a product (under the check's prefix, which the clients add). */
export const keyOf = (id: string): string => `product:${id}`;

export type InstanceName = 'A' | 'B';

export interface Instance {
  name: InstanceName;
  catalog: ProductCatalog;
  /** The learner's subscriber connection, which the checks ping to know it has read every message sent before. */
  subscriber: Redis;
}

export interface RigOptions {
  ids?: number;
  /** Before a write's store.set takes effect, it waits this long on the fake clock (a commit that takes time). */
  commitMs?: number;
}

export interface Rig {
  redis: CheckRedis;
  clock: FakeClock;
  store: TracedStore<Product>;
  ids: string[];
  redisTtlMs: number;
  l1TtlMs: number;
  channel: string;
  a: Instance;
  b: Instance;
  /** What the checks' own subscriber heard on the channel, in order. */
  heard: string[];
  /** The checks' own client, untraced: reads Redis as it is. */
  raw: {
    get(id: string): Promise<string | null>;
    pttl(id: string): Promise<number>;
    /** Deletes the Redis copy, as Redis does when its TTL runs out. */
    expire(id: string): Promise<void>;
  };
  read(instance: Instance, id: string): Promise<{ op: number; product: Product | undefined }>;
  write(instance: Instance, product: Product): Promise<{ op: number }>;
  /** Waits until the invalidation published by a write has reached both instances' subscribers. */
  delivered(since: number): Promise<void>;
}

let nextPrice = 0;

/** A product with a price no other product of the check has: answers are told apart by it. */
export function product(id: string): Product {
  nextPrice += random.int(1, 99);
  return { id, name: `${random.pick(['Lamp', 'Desk', 'Chair', 'Shelf', 'Rug'])} ${random.word(5)}`, priceCents: nextPrice };
}

export function describeProduct(p: Product | undefined): string {
  return p === undefined ? 'undefined' : `{ id: ${show(p.id)}, priceCents: ${p.priceCents} }`;
}

/** How long the checks wait for an invalidation to be published after a write. */
const PUBLISH_WAIT_MS = 1_000;

export async function startRig(target: { ProductCatalog: typeof ProductCatalog }, tracer: Tracer, options: RigOptions = {}): Promise<Rig> {
  nextPrice = random.int(100, 10_000);
  const redis = await redisPrefix();
  const clock = new FakeClock(random.int(0, 100_000));
  const redisTtlMs = random.int(20_000, 120_000);
  const l1TtlMs = random.int(50, 5_000);
  const channel = redis.channel(`product-invalidations-${random.word(4)}`);
  const ids = Array.from({ length: options.ids ?? 3 }, () => `sku-${random.int(1000, 99_999)}-${random.word(3)}`);
  const store = new TracedStore<Product>('products', { seed: ids.map((id) => [id, product(id)] as const) });
  const commitMs = options.commitMs;
  const source: ProductStore = {
    get: (id) => store.get(id),
    set: async (id, p) => {
      if (commitMs !== undefined) await clock.sleep(commitMs);
      await store.set(id, p);
    },
  };

  const start = async (name: InstanceName): Promise<Instance> => {
    const subscriber = redis.client();
    try {
      const catalog = await target.ProductCatalog.start({ store: source, redis: redis.client(), subscriber, channel, redisTtlMs, l1TtlMs, clock });
      return { name, catalog, subscriber };
    } catch (error) {
      return fail(`ProductCatalog.start(…) of instance ${name} threw: ${show(error)}`);
    }
  };
  const a = await start('A');
  const b = await start('B');

  // The checks' own subscriber, after the instances': it hears every invalidation too.
  const heard: string[] = [];
  const listener = withoutTracing(() => redis.client());
  listener.on('message', (from: string, message: string) => {
    if (from === channel) heard.push(message);
  });
  await withoutTracing(() => listener.subscribe(channel));
  const admin = withoutTracing(() => redis.client());

  let ops = 0;
  let silent = false;
  const request = async <T>(instance: Instance, what: string, run: () => Promise<T>): Promise<{ op: number; value: T }> => {
    const op = ++ops;
    try {
      const value = await tracer.startActiveSpan('request', { attributes: { [OP]: op, [INSTANCE]: instance.name } }, (span) =>
        run().finally(() => span.end()),
      );
      return { op, value };
    } catch (error) {
      return fail(`${what} on instance ${instance.name} threw: ${show(error)}`);
    }
  };

  return {
    redis,
    clock,
    store,
    ids,
    redisTtlMs,
    l1TtlMs,
    channel,
    a,
    b,
    heard,
    raw: {
      get: (id) => withoutTracing(() => admin.get(keyOf(id))),
      pttl: (id) => withoutTracing(() => admin.pttl(keyOf(id))),
      expire: async (id) => {
        await withoutTracing(() => admin.del(keyOf(id)));
      },
    },
    async read(instance, id) {
      const { op, value } = await request(instance, `getProduct(${show(id)})`, () => instance.catalog.getProduct(id));
      return { op, product: value };
    },
    async write(instance, p) {
      const { op } = await request(instance, `updateProduct({ id: ${show(p.id)}, … })`, () => instance.catalog.updateProduct(p));
      return { op };
    },
    async delivered(since) {
      // Once a write published nothing, the next ones are not waited for: the check fails on what it reads.
      const deadline = Date.now() + (silent ? 0 : PUBLISH_WAIT_MS);
      while (heard.length <= since && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
      if (heard.length <= since) silent = true;
      // Redis answers a connection in order: once a PING sent now is answered, every message published
      // before it has been read from that connection (and handed to the learner's listener).
      await withoutTracing(() => Promise.all([a, b].map((i) => i.subscriber.ping().catch(() => undefined))));
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}
