import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';

const tracer = trace.getTracer('tracecraft.greeter-client');

/** Asks the greeter at `baseUrl` (like `http://127.0.0.1:54321`) to greet `name`, and returns the greeting. */
export function greet(baseUrl: string, name: string): Promise<string> {
  const url = new URL('/greet', baseUrl);
  url.searchParams.set('name', name);
  const attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: 'GET',
    [ATTR_SERVER_ADDRESS]: url.hostname,
    [ATTR_SERVER_PORT]: Number(url.port),
    [ATTR_URL_FULL]: url.href,
  };
  // Injected before the CLIENT span exists: the header names whatever span the caller had active, if any.
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return tracer.startActiveSpan('GET /greet', { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      const response = await fetch(url, { headers });
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
      if (!response.ok) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: `answered ${response.status}` });
        throw new Error(`GET /greet answered ${response.status}`);
      }
      return await response.text();
    } finally {
      span.end();
    }
  });
}
