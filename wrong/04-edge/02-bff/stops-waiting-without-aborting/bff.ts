import type { ServerResponse } from 'node:http';
import type DataLoader from 'dataloader';
import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
import type { Clock, HttpHandler } from '#kit';
import { Backends, type BackendUrls, type Item, type Order, type Recommendation } from './backends.ts';
import { createItemLoader } from './item-loader.ts';
import { mobileHome, webHome, webOrder, type MobileHome, type WebHome, type WebOrder } from './views.ts';

const tracer = trace.getTracer('tracecraft.bff');

export const ATTR_DEGRADED = 'app.bff.degraded';

export interface BffConfig {
  backends: BackendUrls;
  /** How long an answer waits for the recommendations, on `clock`, before it goes without them. */
  recommendationsBudgetMs: number;
  clock: Clock;
}

const ROUTES = ['/web/home', '/mobile/home'] as const;

export function createBff(config: BffConfig): HttpHandler {
  const backends = new Backends(config.backends);

  /** The optional backend: its answer, or undefined when it failed or missed its budget. */
  async function recommendationsFor(userId: string): Promise<Recommendation[] | undefined> {
    const tooLate = config.clock.sleep(config.recommendationsBudgetMs).then(() => undefined);
    return Promise.race([backends.recommendations(userId).catch(() => undefined), tooLate]);
  }

  async function web(userId: string): Promise<WebHome> {
    // A new loader per request: its cache holds this request's items, never another user's or a stale one.
    const items = createItemLoader(backends);
    // The three calls start together; the item lookups start as soon as the orders are in.
    const [profile, orders, recommendations] = await Promise.all([
      backends.profile(userId),
      backends.orders(userId).then((list) => withItems(list, items)),
      recommendationsFor(userId),
    ]);
    return webHome(profile, orders, recommendations);
  }

  async function mobile(userId: string): Promise<MobileHome> {
    const [profile, orders, recommendations] = await Promise.all([backends.profile(userId), backends.orders(userId), recommendationsFor(userId)]);
    return mobileHome(profile, orders, recommendations);
  }

  return async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://bff');
    const route = ROUTES.find((r) => r === url.pathname);
    const userId = request.headers['x-user-id'];
    if (route === undefined || request.method !== 'GET') return send(response, 404, { error: 'not found' });
    if (typeof userId !== 'string') return send(response, 400, { error: 'x-user-id is required' });
    const attributes = { [ATTR_HTTP_REQUEST_METHOD]: 'GET', [ATTR_HTTP_ROUTE]: route };
    await tracer.startActiveSpan(`GET ${route}`, { kind: SpanKind.SERVER, attributes }, async (span) => {
      try {
        const home = await (route === '/web/home' ? web(userId) : mobile(userId));
        // Degraded is a smaller answer, given on purpose: the request succeeded, so the span is not an error.
        span.setAttribute(ATTR_DEGRADED, home.degraded);
        reply(span, response, 200, home);
      } catch (error) {
        // A required backend failed: there is no page without the profile or the orders.
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute(ATTR_ERROR_TYPE, error instanceof Error ? error.name : 'unknown');
        reply(span, response, 502, { error: 'a backend failed' });
      } finally {
        span.end();
      }
    });
  };
}

/** Every load is made in the same tick, so DataLoader sends them all in one batch. */
function withItems(orders: readonly Order[], items: DataLoader<string, Item>): Promise<WebOrder[]> {
  return Promise.all(orders.map(async (order) => webOrder(order, await Promise.all(order.lines.map((line) => items.load(line.itemId))))));
}

function reply(span: Span, response: ServerResponse, status: number, body: unknown): void {
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  send(response, status, body);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
