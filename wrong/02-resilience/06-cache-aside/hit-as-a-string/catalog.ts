import { trace } from '@opentelemetry/api';
import { systemClock, type Clock } from '#kit';

const tracer = trace.getTracer('tracecraft.catalog');

/** On every `get product` span: true when the cache answered, false when the store had to. */
export const ATTR_CACHE_HIT = 'app.cache.hit';
/** On every `get product` and `update product` span: the product's id. */
export const ATTR_PRODUCT_ID = 'app.product.id';

export interface Product {
  id: string;
  name: string;
  priceCents: number;
}

/**
 * The product database, the source of truth. Its client already traces itself: every call is a
 * CLIENT span (`get products`, `set products`), a child of the span active when it is called.
 */
export interface ProductStore {
  get(id: string): Promise<Product | undefined>;
  set(id: string, product: Product): Promise<void>;
}

export interface CatalogOptions {
  store: ProductStore;
  /** How long a cached product may be served, in milliseconds on `clock`. */
  ttlMs: number;
  /** Default: the real clock. */
  clock?: Clock;
}

interface Entry {
  product: Product;
  expiresAt: number;
}

/** The product catalog, with an in-process cache in front of the store. */
export class ProductCatalog {
  private readonly store: ProductStore;
  private readonly ttlMs: number;
  private readonly clock: Clock;
  private readonly entries = new Map<string, Entry>();
  /** How many writes each product has had: a load that saw a write happen meanwhile must not cache. */
  private readonly writes = new Map<string, number>();

  constructor(options: CatalogOptions) {
    this.store = options.store;
    this.ttlMs = options.ttlMs;
    this.clock = options.clock ?? systemClock;
  }

  /** The product `id`, from the cache when it holds a fresh copy, from the store otherwise. */
  getProduct(id: string): Promise<Product | undefined> {
    return tracer.startActiveSpan('get product', { attributes: { [ATTR_PRODUCT_ID]: id } }, async (span) => {
      try {
        const entry = this.entries.get(id);
        const hit = entry !== undefined && this.clock.now() < entry.expiresAt;
        span.setAttribute(ATTR_CACHE_HIT, hit ? 'true' : 'false');
        if (hit) return entry.product;

        const writesBefore = this.writes.get(id) ?? 0;
        const product = await this.store.get(id);
        // A write that finished while the store was answering may have made `product` old: caching
        // it now would serve the old version after that write, until the TTL runs out.
        if (product !== undefined && (this.writes.get(id) ?? 0) === writesBefore) {
          this.entries.set(id, { product, expiresAt: this.clock.now() + this.ttlMs });
        }
        return product;
      } finally {
        span.end();
      }
    });
  }

  /** Saves `product` in the store; the next read of it must not see the old version. */
  updateProduct(product: Product): Promise<void> {
    return tracer.startActiveSpan('update product', { attributes: { [ATTR_PRODUCT_ID]: product.id } }, async (span) => {
      try {
        // The store first, then the cache: invalidating first would let a read in between cache the old version again.
        await this.store.set(product.id, product);
        this.writes.set(product.id, (this.writes.get(product.id) ?? 0) + 1);
        this.entries.delete(product.id);
      } finally {
        span.end();
      }
    });
  }
}
