/*
 * A sidecar: a proxy process beside the app, in front of it. Every request to the app goes through
 * it, so it can trace, time out and propagate for the app without a line of the app's code changing.
 *   PORT             where the sidecar listens (0: any free port); it prints "listening on <port>"
 *   APP_URL          the app behind it: http://127.0.0.1:8080
 *   APP_TIMEOUT_MS   how long the app may take to answer (default 2000)
 *   OTEL_*           read by the SDK: see telemetry.ts
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import { callApp, readAll, type AppAnswer } from './app-client.ts';
import { endToEndHeaders } from './headers.ts';
import { startTelemetry } from './telemetry.ts';

startTelemetry();
const tracer = trace.getTracer('tracecraft.sidecar');
const appUrl = new URL(process.env['APP_URL'] ?? 'http://127.0.0.1:8080');
const timeoutMs = Number(process.env['APP_TIMEOUT_MS'] ?? 2000);

// A caller that goes away mid-request only loses its own connection, never the sidecar.
const server = http.createServer((request, response) => proxy(request, response).catch(() => response.destroy()));
server.listen(Number(process.env['PORT'] ?? 15001), '127.0.0.1', () => {
  console.log(`listening on ${(server.address() as AddressInfo).port}`);
});

/** Passes one request to the app and its answer back, inside the request's SERVER span. */
function proxy(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const method = request.method ?? 'GET';
  const path = request.url ?? '/';
  // The caller's traceparent, if any, is the parent: the caller's trace goes on through the sidecar.
  const callerContext = propagation.extract(context.active(), request.headers);
  const attributes = { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_PATH]: new URL(path, 'http://sidecar.invalid').pathname };
  // A sidecar does not know the app's routes: the method alone keeps the span name low-cardinality.
  return tracer.startActiveSpan(method, { kind: SpanKind.SERVER, attributes }, callerContext, async (span) => {
    try {
      const answer = await forward(method, path, request.headers, await readAll(request));
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, answer.status);
      if (answer.status >= 500) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute(ATTR_ERROR_TYPE, String(answer.status));
      }
      response.writeHead(answer.status, endToEndHeaders(answer.headers)).end(answer.body);
    } finally {
      span.end();
    }
  });
}

/** One call to the app, as a CLIENT span. No answer in time is a 504, no answer at all a 502. */
function forward(method: string, path: string, headers: IncomingHttpHeaders, body: Buffer): Promise<AppAnswer> {
  const target = new URL(path, appUrl);
  const attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: method,
    [ATTR_SERVER_ADDRESS]: target.hostname,
    [ATTR_SERVER_PORT]: Number(target.port),
    [ATTR_URL_FULL]: target.href,
  };
  return tracer.startActiveSpan(method, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    // Aborting closes the connection to the app: it stops waiting, and so does the app.
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const outgoing = endToEndHeaders(headers);
      // The active context is the CLIENT span's: its traceparent replaces the caller's.
      propagation.inject(context.active(), outgoing);
      const answer = await callApp(appUrl, { method, path, headers: outgoing, body }, signal);
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, answer.status);
      if (answer.status >= 400) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute(ATTR_ERROR_TYPE, String(answer.status));
      }
      return answer;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      // What went wrong, as the error calls itself.
      span.setAttribute(ATTR_ERROR_TYPE, (error as Error).name);
      if (signal.aborted) {
        return sidecarAnswer(504, `the app did not answer within ${timeoutMs} ms`);
      }
      return sidecarAnswer(502, `the app could not be reached: ${(error as Error).message}`);
    } finally {
      span.end();
    }
  });
}

/** An answer the sidecar gives itself, when the app gave none. */
function sidecarAnswer(status: 502 | 504, error: string): AppAnswer {
  return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ error })) };
}
