/*
 * Given: the three backends, one typed function per endpoint. Every call is a CLIENT span that
 * injects the traceparent, so each backend's own span joins the request's trace. Nothing to do here.
 */
import http from 'node:http';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';

const tracer = trace.getTracer('tracecraft.bff');

export interface BackendUrls {
  profile: string;
  orders: string;
  recommendations: string;
}

export interface Profile {
  id: string;
  name: string;
  email: string;
  avatarUrl: string;
  memberSince: string;
}

export interface OrderLine {
  itemId: string;
  quantity: number;
}

export interface Order {
  id: string;
  status: string;
  placedAt: string;
  totalCents: number;
  lines: OrderLine[];
}

export interface Item {
  id: string;
  title: string;
  priceCents: number;
}

export interface Recommendation {
  id: string;
  title: string;
}

/** A backend answered with an error status, or not at all. */
export class BackendError extends Error {
  override readonly name = 'BackendError';
}

export class Backends {
  constructor(private readonly urls: BackendUrls) {}

  /** `GET /profiles/:id` on the profile backend. */
  profile(userId: string): Promise<Profile> {
    return getJson(new URL(`/profiles/${encodeURIComponent(userId)}`, this.urls.profile), '/profiles/:id');
  }

  /** `GET /orders?userId=` on the orders backend: the user's orders, newest first. */
  async orders(userId: string): Promise<Order[]> {
    const url = new URL('/orders', this.urls.orders);
    url.searchParams.set('userId', userId);
    return (await getJson<{ orders: Order[] }>(url, '/orders')).orders;
  }

  /** `GET /items?ids=a,b` on the orders backend: the items asked for, in the backend's own order (not the order asked). */
  async items(ids: readonly string[]): Promise<Item[]> {
    const url = new URL('/items', this.urls.orders);
    url.searchParams.set('ids', ids.join(','));
    return (await getJson<{ items: Item[] }>(url, '/items')).items;
  }

  /** `GET /recommendations/:id` on the recommendations backend. Aborting `signal` cuts the call off. */
  async recommendations(userId: string, signal?: AbortSignal): Promise<Recommendation[]> {
    const url = new URL(`/recommendations/${encodeURIComponent(userId)}`, this.urls.recommendations);
    return (await getJson<{ items: Recommendation[] }>(url, '/recommendations/:id', signal)).items;
  }
}

/**
 * One GET as a CLIENT span named after the route it calls. Rejects with a BackendError for an
 * error status or a failed connection, and with the signal's reason when the signal aborts first;
 * the only reason this service aborts a call is its time budget, so that span says `timeout`.
 */
function getJson<T>(url: URL, route: string, signal?: AbortSignal): Promise<T> {
  const attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: 'GET',
    [ATTR_SERVER_ADDRESS]: url.hostname,
    [ATTR_SERVER_PORT]: Number(url.port),
    [ATTR_URL_FULL]: url.href,
  };
  return tracer.startActiveSpan(`GET ${route}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      const headers: Record<string, string> = {};
      propagation.inject(context.active(), headers);
      const { status, body } = await get(url, headers, signal);
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (status >= 400) {
        span.setAttribute(ATTR_ERROR_TYPE, String(status));
        throw new BackendError(`GET ${url.pathname} answered ${status}`);
      }
      return JSON.parse(body) as T;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      if (signal?.aborted) {
        span.setAttribute(ATTR_ERROR_TYPE, 'timeout');
        throw signal.reason;
      }
      if (error instanceof BackendError) throw error;
      span.setAttribute(ATTR_ERROR_TYPE, (error as NodeJS.ErrnoException).code ?? 'connection_failed');
      throw new BackendError(`GET ${url.pathname} failed: ${(error as Error).message}`, { cause: error });
    } finally {
      span.end();
    }
  });
}

/** A plain GET on a fresh connection; aborting `signal` destroys it. */
function get(url: URL, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers, signal, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}
