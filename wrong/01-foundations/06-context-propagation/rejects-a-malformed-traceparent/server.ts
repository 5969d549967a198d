import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';

const tracer = trace.getTracer('tracecraft.greeter');

/** Answers `GET /greet?name=Ada` with "Hello, Ada!". Anything else is a 404. */
export function handleRequest(request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (request.method !== 'GET' || url.pathname !== '/greet') {
    response.writeHead(404).end();
    return;
  }
  const attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: 'GET',
    [ATTR_URL_SCHEME]: 'http',
    [ATTR_URL_PATH]: url.pathname,
    [ATTR_HTTP_ROUTE]: '/greet',
  };
  // extract() reads the traceparent header. A missing or malformed one is ignored: the context
  // comes back unchanged, and the span below starts a new trace instead of failing the request.
  const header = request.headers['traceparent'];
  // Refuses what it cannot read, as if a bad header were the caller's error.
  if (header !== undefined && !/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(String(header))) {
    response.writeHead(400).end('malformed traceparent');
    return;
  }
  const parent = propagation.extract(context.active(), request.headers);
  tracer.startActiveSpan('GET /greet', { kind: SpanKind.SERVER, attributes }, parent, (span) => {
    try {
      const name = url.searchParams.get('name') ?? 'stranger';
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(`Hello, ${name}!`);
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, 200);
    } finally {
      span.end();
    }
  });
}
