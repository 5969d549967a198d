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
import { callApp, readAll, type AppAnswer } from './app-client.ts';
import { endToEndHeaders } from './headers.ts';
import { startTelemetry } from './telemetry.ts';

startTelemetry();
const appUrl = new URL(process.env['APP_URL'] ?? 'http://127.0.0.1:8080');
const timeoutMs = Number(process.env['APP_TIMEOUT_MS'] ?? 2000);

// A caller that goes away mid-request only loses its own connection, never the sidecar.
const server = http.createServer((request, response) => proxy(request, response).catch(() => response.destroy()));
server.listen(Number(process.env['PORT'] ?? 15001), '127.0.0.1', () => {
  console.log(`listening on ${(server.address() as AddressInfo).port}`);
});

/** Passes one request to the app and its answer back. */
async function proxy(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const method = request.method ?? 'GET';
  const path = request.url ?? '/';
  // TODO: the request's SERVER span (named by the method alone), continuing the caller's traceparent;
  //       its http.response.status_code, and ERROR with error.type for a 5xx answer.
  const answer = await forward(method, path, request.headers, await readAll(request));
  response.writeHead(answer.status, endToEndHeaders(answer.headers)).end(answer.body);
}

/** One call to the app. No answer at all is a 502. */
async function forward(method: string, path: string, headers: IncomingHttpHeaders, body: Buffer): Promise<AppAnswer> {
  // TODO: a CLIENT span around the call, its context injected into the headers the app receives;
  //       a deadline of timeoutMs (AbortSignal.timeout, given to callApp), answered 504 when it passes.
  try {
    return await callApp(appUrl, { method, path, headers: endToEndHeaders(headers), body });
  } catch (error) {
    return sidecarAnswer(502, `the app could not be reached: ${(error as Error).message}`);
  }
}

/** An answer the sidecar gives itself, when the app gave none. */
function sidecarAnswer(status: 502 | 504, error: string): AppAnswer {
  return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ error })) };
}

