import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { systemClock, type Clock } from '#kit';

export interface Product {
  id: string;
  name: string;
  priceCents: number;
}

/** The slow store behind the cache. Resolves undefined when it has no such product ("not found"). */
export interface ProductStore {
  load(id: string): Promise<Product | undefined>;
}

export interface ProductCacheOptions {
  store: ProductStore;
  /** Base time to live of a product found in the store, in ms. */
  ttlMs: number;
  /** Spread of that TTL, as a fraction of it (0 ≤ jitter < 1): each entry lives ttlMs × (1 − jitter + 2 × jitter × random()). */
  jitter: number;
  /** Time to live of a "not found" answer, in ms, without jitter. Shorter than ttlMs. */
  negativeTtlMs: number;
  clock?: Clock;
  /** A number in [0, 1), like Math.random. */
  random?: () => number;
}

const ATTR_PRODUCT_ID = 'app.product.id';
const ATTR_CACHE_HIT = 'app.cache.hit';
const ATTR_CACHE_COALESCED = 'app.cache.coalesced';
const ATTR_CACHE_NEGATIVE_HIT = 'app.cache.negative_hit';

const tracer = trace.getTracer('tracecraft.product-cache');

interface Entry {
  product: Product;
  expiresAt: number;
}

function fail(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.setAttribute(ATTR_ERROR_TYPE, err.name);
}

/** A read-through cache of products that protects its store from stampedes, avalanches and lookups of missing ids. */
export class ProductCache {
  private readonly entries = new Map<string, Entry>();
  private readonly options: ProductCacheOptions;
  private readonly clock: Clock;
  private readonly random: () => number;

  constructor(options: ProductCacheOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  get(id: string): Promise<Product | undefined> {
    return tracer.startActiveSpan('get product', { attributes: { [ATTR_PRODUCT_ID]: id } }, async (span) => {
      try {
        const entry = this.entries.get(id);
        if (entry && this.clock.now() < entry.expiresAt) {
          span.setAttribute(ATTR_CACHE_HIT, true);
          // TODO (negative caching): a remembered "not found" is a hit too; mark it with ATTR_CACHE_NEGATIVE_HIT.
          return entry.product;
        }
        span.setAttribute(ATTR_CACHE_HIT, false);

        // TODO (single-flight): when another caller's load of this id is in flight, wait for its
        //       result instead of loading again. Link this span to that caller's span and set
        //       ATTR_CACHE_COALESCED. Forget the flight once it settles: an error is not cached.
        const product = await this.load(id);

        // TODO (TTL jitter): draw each entry's TTL from ttlMs × (1 − jitter + 2 × jitter × random()).
        // TODO (negative caching): remember "not found" too, for negativeTtlMs.
        if (product !== undefined) {
          this.entries.set(id, { product, expiresAt: this.clock.now() + this.options.ttlMs });
        }
        return product;
      } catch (error) {
        fail(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  }

  private load(id: string): Promise<Product | undefined> {
    const attributes = { [ATTR_PRODUCT_ID]: id };
    return tracer.startActiveSpan('load product', { kind: SpanKind.CLIENT, attributes }, async (span) => {
      try {
        return await this.options.store.load(id);
      } catch (error) {
        fail(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  }
}
