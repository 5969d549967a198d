import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
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
      const decision = limiter.take(request.clientId);
      span.setAttributes({
        'app.rate_limit.key': request.clientId,
        'app.rate_limit.decision': decision.allowed ? 'allowed' : 'limited',
        'app.rate_limit.remaining': decision.remaining,
      });
      if (!decision.allowed) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
        span.setAttribute(ATTR_ERROR_TYPE, '429');
        span.setAttribute('app.rate_limit.retry_after_ms', decision.retryAfterMs);
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, 429);
        const retryAfter = String(Math.ceil(decision.retryAfterMs / 1000));
        return { status: 429, headers: { 'retry-after': retryAfter }, body: { error: 'rate limited' } };
      }
      const results = await backend.search(request.query);
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, 200);
      return { status: 200, headers: {}, body: { results } };
    } finally {
      span.end();
    }
  });
}
