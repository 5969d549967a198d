import { SpanKind, trace } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
import type { TokenBucketLimiter } from './token-bucket.ts';

const tracer = trace.getTracer('tracecraft.search');

export interface SearchRequest {
  /** Who is asking: the rate limit applies per client. */
  clientId: string;
  query: string;
}

export interface SearchResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** The search index, behind the API. */
export interface SearchBackend {
  search(query: string): Promise<string[]>;
}

/** Serves GET /search, at most as often as each client's token bucket allows. */
export function handleSearch(request: SearchRequest, limiter: TokenBucketLimiter, backend: SearchBackend): Promise<SearchResponse> {
  const attributes = { [ATTR_HTTP_REQUEST_METHOD]: 'GET', [ATTR_HTTP_ROUTE]: '/search' };
  return tracer.startActiveSpan('GET /search', { kind: SpanKind.SERVER, attributes }, async (span): Promise<SearchResponse> => {
    try {
      // TODO: ask the limiter for a token for this client, and put the decision on the span.
      // A limited request is answered 429 with a Retry-After header, without calling the backend.
      void limiter;
      const results = await backend.search(request.query);
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, 200);
      return { status: 200, headers: {}, body: { results } };
    } finally {
      span.end();
    }
  });
}
