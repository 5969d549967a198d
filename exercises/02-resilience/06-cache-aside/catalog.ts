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

/** The product catalog, with an in-process cache in front of the store. */
export class ProductCatalog {
  private readonly store: ProductStore;
  private readonly ttlMs: number;
  private readonly clock: Clock;
  // TODO: the cache: what it holds per product id, and until when.

  constructor(options: CatalogOptions) {
    this.store = options.store;
    this.ttlMs = options.ttlMs;
    this.clock = options.clock ?? systemClock;
  }

  /** The product `id`, from the cache when it holds a fresh copy, from the store otherwise. */
  getProduct(id: string): Promise<Product | undefined> {
    return tracer.startActiveSpan('get product', { attributes: { [ATTR_PRODUCT_ID]: id } }, async (span) => {
      try {
        // TODO: answer from the cache while the entry is fresh (app.cache.hit=true, no store call).
        //       On a miss (no entry, or an expired one): app.cache.hit=false, load from the store and
        //       cache what it answers for ttlMs, unless a write made it old while it was loading.
        void this.ttlMs;
        void this.clock;
        return await this.store.get(id);
      } finally {
        span.end();
      }
    });
  }

  /** Saves `product` in the store; the next read of it must not see the old version. */
  updateProduct(product: Product): Promise<void> {
    return tracer.startActiveSpan('update product', { attributes: { [ATTR_PRODUCT_ID]: product.id } }, async (span) => {
      try {
        await this.store.set(product.id, product);
        // TODO: invalidate this product's cache entry, and make sure a read that was already
        //       loading the old version cannot put it back.
      } finally {
        span.end();
      }
    });
  }
}
