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

interface Entry {
  product: Product;
  expiresAt: number;
}

/** One instance of the catalog service: its own L1 in memory, Redis shared with every other instance. */
export class ProductCatalog {
  private readonly l1 = new Map<string, Entry>();
  private readonly clock: Clock;

  private constructor(private readonly options: CatalogOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Starts an instance. It listens for invalidations before it answers anything. */
  static async start(options: CatalogOptions): Promise<ProductCatalog> {
    const catalog = new ProductCatalog(options);
    // Another instance changed a product: our L1 copy of it is old. (Redis was cleared by the writer.)
    options.subscriber.on('message', (channel: string, id: string) => {
      if (channel === options.channel) catalog.l1.delete(id);
    });
    // A subscribed connection can run no other command: this is why the subscriber is a connection of its own.
    await options.subscriber.subscribe(options.channel);
    return catalog;
  }

  /** The product `id`, from the first tier that has it: L1, then Redis, then the store. */
  getProduct(id: string): Promise<Product | undefined> {
    return tracer.startActiveSpan('get product', { attributes: { [ATTR_PRODUCT_ID]: id } }, async (span) => {
      try {
        const { product, tier } = await this.lookUp(id);
        span.setAttribute(ATTR_CACHE_TIER, tier);
        return product;
      } finally {
        span.end();
      }
    });
  }

  /** Saves `product` in the store, then clears both tiers here and tells every other instance to clear its L1. */
  updateProduct(product: Product): Promise<void> {
    return tracer.startActiveSpan('update product', { attributes: { [ATTR_PRODUCT_ID]: product.id } }, async (span) => {
      try {
        // The store first: a read that ran between an early invalidation and the save would cache the old version again.
        await this.options.store.set(product.id, product);
        await this.options.redis.del(productKey(product.id));
        this.l1.delete(product.id);
        await this.options.redis.publish(this.options.channel, product.id);
      } finally {
        span.end();
      }
    });
  }

  private async lookUp(id: string): Promise<{ product: Product | undefined; tier: CacheTier }> {
    const entry = this.l1.get(id);
    if (entry !== undefined && this.clock.now() < entry.expiresAt) return { product: entry.product, tier: 'l1' };

    const cached = await this.options.redis.get(productKey(id));
    if (cached !== null) {
      const product = JSON.parse(cached) as Product;
      return { product, tier: 'redis' };
    }

    const product = await this.options.store.get(id);
    if (product !== undefined) {
      // PX: Redis forgets the copy by itself, whatever happens to the instances.
      await this.options.redis.set(productKey(id), JSON.stringify(product), 'PX', this.options.redisTtlMs);
      this.remember(product);
    }
    return { product, tier: 'store' };
  }

  private remember(product: Product): void {
    this.l1.set(product.id, { product, expiresAt: this.clock.now() + this.options.l1TtlMs });
  }
}
