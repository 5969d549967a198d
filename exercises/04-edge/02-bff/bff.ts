import type { ServerResponse } from 'node:http';
import { trace } from '@opentelemetry/api';
import type { Clock, HttpHandler } from '#kit';
import { Backends, type BackendUrls } from './backends.ts';

const tracer = trace.getTracer('tracecraft.bff');

export const ATTR_DEGRADED = 'app.bff.degraded';

export interface BffConfig {
  backends: BackendUrls;
  /** How long an answer waits for the recommendations, on `clock`, before it goes without them. */
  recommendationsBudgetMs: number;
  clock: Clock;
}

/** Serves GET /web/home and GET /mobile/home for the user named by the `x-user-id` header. */
export function createBff(config: BffConfig): HttpHandler {
  const backends = new Backends(config.backends);
  void tracer;
  return async (request, response) => {
    const path = (request.url ?? '/').split('?', 1)[0];
    const userId = request.headers['x-user-id'];
    if (request.method !== 'GET' || (path !== '/web/home' && path !== '/mobile/home')) return send(response, 404, { error: 'not found' });
    if (typeof userId !== 'string') return send(response, 400, { error: 'x-user-id is required' });
    // TODO: in a SERVER span "GET <route>":
    //       - call profile, orders and recommendations together (backends.ts), the recommendations
    //         within config.recommendationsBudgetMs on config.clock: abort the call at the budget;
    //       - web: look up each order line's item through a new createItemLoader(backends) (item-loader.ts);
    //       - answer 200 with webHome / mobileHome (views.ts), degraded without recommendations,
    //         and 502 when the profile or the orders failed.
    void backends;
    send(response, 501, { error: `${path} is not written yet` });
  };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
