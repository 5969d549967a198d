/*
 * The app behind the learner's sidecar: the checks' own service, run as a process of its own and
 * traced with the SDK like any instrumented service. Its SERVER span continues the traceparent it
 * receives, and its spans go to the same OTLP receiver as the sidecar's, under its own service.name.
 *
 * It echoes every request as JSON (method, path, headers, body) and takes its orders from headers
 * the sidecar passes on like any other: `x-app-status` (the status to answer, default 200) and
 * `x-app-delay-ms` (how long to wait before answering). It answers with `x-app-request-id` (the
 * request's `x-request-id`) and a hop-by-hop header of its own, `x-app-hop`, named in `connection`.
 * A request whose caller went away before the answer is printed as `aborted <method> <path>`.
 *
 * With APP_TRACING=off it loads no SDK (its spans are no-ops): the checks that read only the
 * sidecar's spans start it in a tenth of the time.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

if (process.env['APP_TRACING'] !== 'off') await startTelemetry();

async function startTelemetry(): Promise<void> {
  const [{ OTLPTraceExporter }, { defaultResource, detectResources, envDetector }, { BatchSpanProcessor }, { NodeTracerProvider }] = await Promise.all([
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/sdk-trace-node'),
  ]);
  new NodeTracerProvider({
    resource: defaultResource().merge(detectResources({ detectors: [envDetector] })),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  }).register();
}

const tracer = trace.getTracer('tracecraft.checks.app');

function routeOf(pathname: string): string | undefined {
  if (pathname === '/orders') return '/orders';
  if (/^\/orders\/[^/]+$/.test(pathname)) return '/orders/:id';
  return undefined;
}

const server = http.createServer((request, response) => {
  const method = request.method ?? 'GET';
  const url = new URL(request.url ?? '/', 'http://app.invalid');
  const route = routeOf(url.pathname);
  const parent = propagation.extract(ROOT_CONTEXT, request.headers);
  const span = tracer.startSpan(
    route ? `${method} ${route}` : method,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': url.pathname, ...(route && { 'http.route': route }) } },
    parent,
  );
  response.once('close', () => {
    if (!response.writableFinished) {
      console.log(`aborted ${method} ${request.url ?? '/'}`);
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'the caller went away before the answer' });
    }
    span.end();
  });
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const status = Number(request.headers['x-app-status'] ?? 200);
    const delayMs = Number(request.headers['x-app-delay-ms'] ?? 0);
    const echo = { method, path: request.url, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
    setTimeout(() => {
      if (response.destroyed) return;
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      response
        .writeHead(status, {
          'content-type': 'application/json',
          'x-app-request-id': String(request.headers['x-request-id'] ?? ''),
          // Names its own hop-by-hop header, and keeps the connection only when the caller asked for it.
          connection: /\bclose\b/i.test(String(request.headers['connection'] ?? '')) ? 'close, x-app-hop' : 'keep-alive, x-app-hop',
          'x-app-hop': 'for the sidecar only',
        })
        .end(JSON.stringify(echo));
    }, delayMs);
  });
});

server.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  console.log(`listening on ${(server.address() as AddressInfo).port}`);
});
