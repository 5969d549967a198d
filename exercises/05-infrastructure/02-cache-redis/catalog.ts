import { trace } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import { systemClock, type Clock } from '#kit';

const tracer = trace.getTracer('tracecraft.catalog');

/** On every `get product` and `update product` span: the product's id. */
export const ATTR_PRODUCT_ID = 'app.product.id';
/** On every `get product` span: the tier that answered. */
export const ATTR_CACHE_TIER = 'app.cache.tier';

/** `l1`: this instance's memory; `redis`: the shared cache; `store`: neither had it, the store answered. */
export type CacheTier = 'l1' | 'redis' | 'store';

export interface Product {
  id: string;
  name: string;
  priceCents: number;
}

/** The product database, the source of truth. Its client traces itself (`get products`, `set products`). */
export interface ProductStore {
  get(id: string): Promise<Product | undefined>;
  set(id: string, product: Product): Promise<void>;
}

export interface CatalogOptions {
  store: ProductStore;
  /** The connection for commands (GET, SET, DEL, PUBLISH). */
  redis: Redis;
  /** A second connection, for SUBSCRIBE only. */
  subscriber: Redis;
  /** The channel on which every instance announces the id of a product it changed. */
  channel: string;
  /** How long a product stays in Redis, in milliseconds (Redis counts them: real time). */
  redisTtlMs: number;
  /** How long a product stays in this instance's memory, in milliseconds on `clock`. Shorter than `redisTtlMs`. */
  l1TtlMs: number;
  /** The clock of the L1 tier. Default: the real clock. */
  clock?: Clock;
}

/** The Redis key of a product. */
export function productKey(id: string): string {
  return `product:${id}`;
}

/** One instance of the catalog service: its own L1 in memory, Redis shared with every other instance. */
export class ProductCatalog {
  private readonly clock: Clock;
  // TODO: the L1 tier: what it holds per product id, and until when (on this.clock).

  private constructor(private readonly options: CatalogOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Starts an instance. It listens for invalidations before it answers anything. */
  static async start(options: CatalogOptions): Promise<ProductCatalog> {
    const catalog = new ProductCatalog(options);
    // TODO: subscribe to options.channel on options.subscriber, and drop the L1 copy of every
    //       product id announced there.
    return catalog;
  }

  /** The product `id`, from the first tier that has it: L1, then Redis, then the store. */
  getProduct(id: string): Promise<Product | undefined> {
    return tracer.startActiveSpan('get product', { attributes: { [ATTR_PRODUCT_ID]: id } }, async (span) => {
      try {
        // TODO: L1 while its entry is fresh (no Redis command at all); then Redis (GET productKey(id));
        //       then the store, whose answer goes to Redis with SET … PX redisTtlMs. Every answer fills L1
        //       for l1TtlMs. Set ATTR_CACHE_TIER to the tier that answered.
        void this.clock;
        return await this.options.store.get(id);
      } finally {
        span.end();
      }
    });
  }

  /** Saves `product` in the store, then clears both tiers here and tells every other instance to clear its L1. */
  updateProduct(product: Product): Promise<void> {
    return tracer.startActiveSpan('update product', { attributes: { [ATTR_PRODUCT_ID]: product.id } }, async (span) => {
      try {
        await this.options.store.set(product.id, product);
        // TODO: delete the Redis copy and this instance's L1 copy, then PUBLISH the id on options.channel.
      } finally {
        span.end();
      }
    });
  }
}
