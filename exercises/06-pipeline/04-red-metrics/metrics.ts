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

const meter = metrics.getMeter('tracecraft.orders-api');

// TODO: create the three instruments of the README's contract from `meter`:
//       - the http.server.request.duration histogram, in seconds, with the README's bucket boundaries;
//       - the app.http.server.requests counter;
//       - the http.server.active_requests up-down counter.

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
  // TODO: count the request in flight while `serve` runs, then record its duration on `clock` and
  //       count it, with the attributes of the README's contract, however `serve` ends.
  return serve();
}
