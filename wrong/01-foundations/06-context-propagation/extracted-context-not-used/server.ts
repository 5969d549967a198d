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
  // extract() is called, but its context is never passed on: the span starts in the active (empty) context.
  propagation.extract(context.active(), request.headers);
  tracer.startActiveSpan('GET /greet', { kind: SpanKind.SERVER, attributes }, (span) => {
    try {
      const name = url.searchParams.get('name') ?? 'stranger';
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(`Hello, ${name}!`);
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, 200);
    } finally {
      span.end();
    }
  });
}
