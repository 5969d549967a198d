/*
 * The orders API's RED metrics: Rate and Errors (requests counted by route and status class),
 * Duration (a histogram in seconds), and the requests in flight. The instruments come from the API;
 * the SDK that aggregates and exports them is set up once by whoever runs the service.
 */
import { metrics } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_SCHEME,
  METRIC_HTTP_SERVER_REQUEST_DURATION,
} from '@opentelemetry/semantic-conventions';
import type { Clock } from '#kit';

// Still "development" in semantic-conventions 1.38: copied here, not imported from /incubating.
const METRIC_HTTP_SERVER_ACTIVE_REQUESTS = 'http.server.active_requests';

// This service's own metric and attribute: not in the conventions, so `app.`-prefixed.
export const METRIC_APP_REQUESTS = 'app.http.server.requests';
export const ATTR_APP_STATUS_CLASS = 'app.http.status_class';

// The boundaries the conventions advise for http.server.request.duration, in seconds. The SDK's
// default ones (0 to 10000) were made for milliseconds: every request would land in the first two.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

const meter = metrics.getMeter('tracecraft.orders-api');

const requestDuration = meter.createHistogram(METRIC_HTTP_SERVER_REQUEST_DURATION, {
  description: 'Duration of HTTP server requests.',
  unit: 's',
  advice: { explicitBucketBoundaries: DURATION_BUCKETS },
});
const requestCount = meter.createCounter(METRIC_APP_REQUESTS, {
  description: 'HTTP requests answered, by route and status class.',
  unit: '{request}',
});
const activeRequests = meter.createUpDownCounter(METRIC_HTTP_SERVER_ACTIVE_REQUESTS, {
  description: 'HTTP requests being served.',
  unit: '{request}',
});

export interface RequestInfo {
  method: string;
  /** The path as requested, `/orders/ord-42`: fine on a span, never on a metric (one series per order). */
  path: string;
  /** The route template that matched, `/orders/:id`; undefined when no route did. */
  route: string | undefined;
}

/**
 * Serves one request with `serve` and measures it on `clock`: in flight while it runs, then its
 * duration and its count. Resolves to what `serve` resolves to; when `serve` rejects, the request
 * is measured as the 500 the server answers, and the rejection goes on to the server.
 */
export async function measureRequest<T extends { status: number }>(clock: Clock, request: RequestInfo, serve: () => Promise<T>): Promise<T> {
  const inFlight = { [ATTR_HTTP_REQUEST_METHOD]: request.method, [ATTR_URL_SCHEME]: 'http' };
  activeRequests.add(1, inFlight);
  const started = clock.now();
  let status = 500;
  try {
    const answer = await serve();
    status = answer.status;
    return answer;
  } finally {
    // A request no route matched has no http.route: the raw path would make a series per URL.
    const route = request.route === undefined ? {} : { [ATTR_HTTP_ROUTE]: request.route };
    requestDuration.record((clock.now() - started) / 1000, {
      ...inFlight,
      ...route,
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: status,
      ...(status >= 400 ? { [ATTR_ERROR_TYPE]: String(status) } : {}),
    });
    requestCount.add(1, { [ATTR_HTTP_REQUEST_METHOD]: request.method, ...route, [ATTR_APP_STATUS_CLASS]: `${Math.floor(status / 100)}xx` });
    // The same attributes as the +1, or the series would never come back to 0.
    activeRequests.add(-1, inFlight);
  }
}
