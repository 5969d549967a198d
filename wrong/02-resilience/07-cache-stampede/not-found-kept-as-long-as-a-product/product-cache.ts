import { SpanKind, SpanStatusCode, trace, type Span, type SpanContext } from '@opentelemetry/api';
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
  /** undefined: the store said "not found" (a negative entry). */
  product: Product | undefined;
  expiresAt: number;
}

interface Flight {
  result: Promise<Product | undefined>;
  /** The span of the caller whose load this is: the one the waiters link to. */
  loader: SpanContext;
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
  private readonly flights = new Map<string, Flight>();
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
          if (entry.product === undefined) span.setAttribute(ATTR_CACHE_NEGATIVE_HIT, true);
          return entry.product;
        }
        span.setAttribute(ATTR_CACHE_HIT, false);

        const flight = this.flights.get(id);
        if (flight) {
          // Another caller's load is in flight: wait for it. It runs in that caller's trace, so this
          // span can't be its parent; a link says where the answer comes from.
          span.addLink({ context: flight.loader });
          span.setAttribute(ATTR_CACHE_COALESCED, true);
          return await flight.result;
        }

        // The flight is forgotten once it settles, whichever way: an error is not cached, so the
        // next caller loads again. (`finally` runs after the entry was written.)
        const result = this.loadAndRemember(id).finally(() => this.flights.delete(id));
        this.flights.set(id, { result, loader: span.spanContext() });
        return await result;
      } catch (error) {
        fail(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  }

  private async loadAndRemember(id: string): Promise<Product | undefined> {
    const product = await this.load(id);
    const ttl = this.jitteredTtl();
    this.entries.set(id, { product, expiresAt: this.clock.now() + ttl });
    return product;
  }

  /** Entries written together expire spread over ttl·(1−j) … ttl·(1+j), not all in the same instant. */
  private jitteredTtl(): number {
    const { ttlMs, jitter } = this.options;
    return ttlMs * (1 - jitter + 2 * jitter * this.random());
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
