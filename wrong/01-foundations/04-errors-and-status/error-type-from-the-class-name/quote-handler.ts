import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';

const tracer = trace.getTracer('tracecraft.quotes');

export interface HttpResponse {
  status: number;
  body?: unknown;
}

/** The pricing service, over HTTP. Rejects when no answer came back at all (refused, timed out). */
export interface PricingClient {
  get(path: string): Promise<HttpResponse>;
}

const VALID_SKU = /^[A-Z0-9-]{3,20}$/;

/** Marks a span as failed, with a low-cardinality name for the kind of failure. */
function fail(span: Span, errorType: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.setAttribute(ATTR_ERROR_TYPE, errorType);
}

/** Records an exception that ends the operation: the 'exception' event, the status and error.type. */
function failWith(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException(err);
  // The class of the error, not its name: a renamed Error (like a fetch timeout) is just "Error".
  fail(span, err.constructor.name);
}

/**
 * Serves GET /quotes/:sku: the price of one product, asked of the pricing service.
 * Answers 400 for a malformed sku, 404 for an unknown product, 502 when pricing fails.
 */
export function getQuote(sku: string, pricing: PricingClient): Promise<HttpResponse> {
  const attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: 'GET',
    [ATTR_HTTP_ROUTE]: '/quotes/:sku',
    [ATTR_URL_PATH]: `/quotes/${sku}`,
  };
  return tracer.startActiveSpan('GET /quotes/:sku', { kind: SpanKind.SERVER, attributes }, async (span) => {
    try {
      const response = await quote(sku, pricing);
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
      // A 4xx is the caller's mistake, answered correctly: not a failure of this server.
      if (response.status >= 500) fail(span, String(response.status));
      return response;
    } catch (error) {
      failWith(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

async function quote(sku: string, pricing: PricingClient): Promise<HttpResponse> {
  if (!VALID_SKU.test(sku)) return { status: 400, body: { error: 'malformed sku' } };
  let price: HttpResponse;
  try {
    price = await fetchPrice(sku, pricing);
  } catch {
    return { status: 502, body: { error: 'pricing is unreachable' } };
  }
  if (price.status === 404) return { status: 404, body: { error: 'unknown product' } };
  if (price.status !== 200) return { status: 502, body: { error: 'pricing failed' } };
  const { amountCents } = (price.body ?? {}) as { amountCents?: unknown };
  if (typeof amountCents !== 'number') throw new TypeError('pricing answered without a price');
  return { status: 200, body: { sku, amountCents } };
}

/** One call to the pricing service: the CLIENT side of that hop. */
function fetchPrice(sku: string, pricing: PricingClient): Promise<HttpResponse> {
  const attributes = { [ATTR_HTTP_REQUEST_METHOD]: 'GET' };
  return tracer.startActiveSpan('GET /prices/:sku', { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      const response = await pricing.get(`/prices/${sku}`);
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
      // For the caller, any 4xx or 5xx means this call did not get what it asked for.
      if (response.status >= 400) fail(span, String(response.status));
      return response;
    } catch (error) {
      failWith(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}
