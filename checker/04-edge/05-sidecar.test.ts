import type { IncomingHttpHeaders } from 'node:http';
import { it } from 'vitest';
import { absent, expectTrace, present, random, useOtlpReceiver, verify, type SpanNode, type SpanShape } from '#checks';
import { endToEndHeaders } from '#target/04-edge/05-sidecar/headers.ts';
import { callerContext, echoOf, orderPath, send, serviceOf, startPair, type Pair } from './05-sidecar.rig.ts';

const otlp = useOtlpReceiver();

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade'];
/** Checks that start two node processes with the SDK need more than the default time limit of a check. */
const PROCESS_CHECK = { timeout: 6000 };
/** How long a check waits for spans to arrive: both processes send a batch every 50 ms. */
const SPANS_MS = 1000;

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('endToEndHeaders passes every end-to-end header on as it is, and drops the hop-by-hop ones: the six of RFC 9110 and every header Connection names', () => {
  const named = `x-${random.word(6)}`;
  const other = `x-${random.word(5)}`;
  const cases: { what: string; headers: IncomingHttpHeaders; kept: string[] }[] = [
    {
      what: 'a request with each of the six fixed hop-by-hop headers',
      headers: {
        'content-type': 'application/json',
        'x-request-id': random.id('req-'),
        authorization: `Bearer ${random.id()}`,
        connection: 'keep-alive',
        'keep-alive': 'timeout=5',
        'proxy-connection': 'keep-alive',
        te: 'trailers',
        'transfer-encoding': 'chunked',
        upgrade: 'h2c',
      },
      kept: ['content-type', 'x-request-id', 'authorization'],
    },
    {
      what: `Connection naming two more headers, in capitals and with spaces ("Keep-Alive , ${named.toUpperCase()},${other}")`,
      headers: { connection: `Keep-Alive , ${named.toUpperCase()},${other}`, [named]: random.word(), [other]: random.word(), 'x-kept': random.word(), 'set-cookie': ['a=1', `b=${random.int(2, 99)}`] },
      kept: ['x-kept', 'set-cookie'],
    },
    {
      what: 'no Connection header and no hop-by-hop one',
      headers: { accept: 'application/json', 'x-request-id': random.id('req-'), cookie: `session=${random.id()}`, 'content-length': String(random.int(1, 999)) },
      kept: ['accept', 'x-request-id', 'cookie', 'content-length'],
    },
    randomHeaders(),
  ];
  for (const { what, headers, kept } of cases) {
    const passed = { ...endToEndHeaders({ ...headers }) };
    verify(passed, `the headers endToEndHeaders passes on for ${what}`).equals(Object.fromEntries(kept.map((name) => [name, headers[name]])));
  }
});

it('forwards each request to the app unchanged (method, path and query, end-to-end headers, body) and answers with the app\'s answer, its 4xx and 5xx included', PROCESS_CHECK, async () => {
  const pair = await startPair(otlp);
  const requests = [
    { method: 'GET', target: `${orderPath().path}?expand=${random.word(4)}&page=${random.int(1, 9)}`, status: 200, body: undefined },
    { method: 'POST', target: '/orders', status: 201, body: JSON.stringify({ sku: `SKU-${random.int(100, 999)}`, quantity: random.int(1, 9) }) },
    { method: 'PUT', target: orderPath().path, status: random.pick([404, 409, 422]), body: `note ${random.word(8)}` },
    { method: 'DELETE', target: orderPath().path, status: random.pick([500, 503]), body: undefined },
  ];
  for (const { method, target, status, body } of requests) {
    const requestId = random.id('req-');
    const hop = `x-hop-${random.word(4)}`;
    const reply = await send(pair, method, target, {
      headers: {
        'x-request-id': requestId,
        authorization: `Bearer ${random.id()}`,
        ...(body !== undefined && { 'content-type': method === 'POST' ? 'application/json' : 'text/plain' }),
        connection: `keep-alive, ${hop}`,
        [hop]: 'for the sidecar only',
        'x-app-status': String(status),
      },
      ...(body !== undefined && { body }),
    });
    const what = `${method} ${target} through the sidecar (the app answers ${status})`;
    verify(reply.status, `the status of ${what}`).is(status);
    const echo = echoOf(reply, what);
    verify({ method: echo.method, path: echo.path, body: echo.body }, `what the app received for ${what}`).equals({ method, path: target, body: body ?? '' });
    verify(echo.headers['x-request-id'], `the x-request-id header the app received for ${what}`).is(requestId);
    verify(echo.headers[hop], `the ${hop} header the app received (the caller's Connection names it: it is hop-by-hop)`).is(undefined);
    verify(reply.headers['x-app-request-id'], `the app's own x-app-request-id header in the answer to ${what}`).is(requestId);
    verify(reply.headers['x-app-hop'], 'the x-app-hop header in the answer (the app\'s Connection names it: it stops at the sidecar)').is(undefined);
  }
});

it('answers 504 when the app is slower than APP_TIMEOUT_MS, without waiting for it, and abandons its request to the app; the next request is answered as usual', PROCESS_CHECK, async () => {
  const timeoutMs = random.int(250, 450);
  const pair = await startPair(otlp, { timeoutMs });
  const slow = orderPath();
  const appDelayMs = timeoutMs + 1500;
  // Past APP_TIMEOUT_MS + 1 s the check stops waiting: a sidecar without a deadline fails here, not after the app's delay.
  const reply = await send(pair, 'GET', slow.path, {
    headers: { 'x-app-delay-ms': String(appDelayMs) },
    timeoutMs: timeoutMs + 1000,
    late: `APP_TIMEOUT_MS is ${timeoutMs}, so the sidecar should have answered 504 by then, without waiting for the app (it takes ${appDelayMs} ms)`,
  });
  verify(reply.status, `the status of GET ${slow.path} when the app takes ${appDelayMs} ms (APP_TIMEOUT_MS is ${timeoutMs})`).is(504);
  verify(Math.round(reply.ms), `how long the 504 took, in ms (APP_TIMEOUT_MS is ${timeoutMs}; the app would have answered after ${appDelayMs})`).isBelow(timeoutMs + 1000);
  await pair.app.waitForOutput(new RegExp(`aborted GET ${slow.path}`), {
    timeoutMs: 1000,
    what: `the app's side of GET ${slow.path} after the timeout: a sidecar that gives up must close its request to the app (abort it with the signal), or the app works on for nobody`,
  });
  const next = orderPath();
  verify((await send(pair, 'GET', next.path)).status, `the status of GET ${next.path}, the next request after a timeout (the app answers at once)`).is(200);
});

it('answers 502 when the app cannot be reached, and keeps serving', PROCESS_CHECK, async () => {
  const pair = await startPair(otlp);
  const first = orderPath();
  verify((await send(pair, 'GET', first.path)).status, `the status of GET ${first.path} while the app runs`).is(200);
  await pair.app.close();
  for (const attempt of [orderPath(), orderPath()]) {
    verify((await send(pair, 'GET', attempt.path)).status, `the status of GET ${attempt.path} once the app is gone (its port refuses connections)`).is(502);
  }
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

it('makes one trace across two processes: the sidecar\'s SERVER span parents its CLIENT span, which parents the app\'s SERVER span, each with its own service.name', PROCESS_CHECK, async () => {
  const pair = await startPair(otlp, { tracedApp: true });
  const order = orderPath();
  const target = `${order.path}?expand=${random.word(4)}`;
  verify((await send(pair, 'GET', target)).status, `the status of GET ${target}`).is(200);
  await waitForTraces(pair, [order.path], true);
  const trace = expectTrace(
    otlp.traces(),
    sidecarShape(pair, order.path, 200, 'unset', [clientShape(pair, target, 200, 'unset', [appShape(pair, '/orders/:id')])]),
    'the request\'s trace crosses both processes: the sidecar\'s SERVER span (named by the method: it does not know the app\'s routes), its CLIENT span, ' +
      'and the app\'s SERVER span under the CLIENT span, because the traceparent the app received names that CLIENT span',
  );
  const sidecarSpans = trace.spans.filter((span) => serviceOf(span) === pair.sidecarName);
  verify(sidecarSpans.map((span) => `${span.kind.toUpperCase()} ${span.name}`).sort(), 'the sidecar\'s spans in the trace of one request (one SERVER, one CLIENT)').equals(['CLIENT GET', 'SERVER GET']);
});

it('continues the caller\'s trace: a traceparent that comes in is the parent of the sidecar\'s SERVER span', PROCESS_CHECK, async () => {
  const pair = await startPair(otlp, { tracedApp: true });
  const caller = callerContext();
  const order = orderPath();
  verify((await send(pair, 'GET', order.path, { headers: { traceparent: caller.traceparent } })).status, `the status of GET ${order.path}`).is(200);
  await waitForTraces(pair, [order.path], true);
  const trace = expectTrace(
    otlp.traces(),
    sidecarShape(pair, order.path, 200, 'unset', [clientShape(pair, order.path, 200, 'unset', [appShape(pair, '/orders/:id')])]),
    'the caller\'s trace goes on through the sidecar into the app',
  );
  const server = trace.spans.find((span) => span.kind === 'server' && serviceOf(span) === pair.sidecarName);
  verify(server?.traceId, `the trace id of the sidecar's SERVER span (the caller sent traceparent ${caller.traceparent})`).is(caller.traceId);
  verify(server?.parentSpanId, `the parent of the sidecar's SERVER span (the caller's span, ${caller.spanId}, in its traceparent)`).is(caller.spanId);
});

it('marks failures where they happen: the CLIENT span is ERROR for an app\'s 4xx or 5xx and for no answer ("timeout" when cut off); the SERVER span only for a 5xx answer, the 502 and 504 included', PROCESS_CHECK, async () => {
  const timeoutMs = random.int(250, 400);
  const pair = await startPair(otlp, { timeoutMs });
  const clientError = { ...orderPath(), status: random.pick([400, 404, 409]) };
  const serverError = { ...orderPath(), status: random.pick([500, 503]) };
  const slow = orderPath();
  const unreachable = orderPath();
  // At the same time: each is its own request, with its own span and deadline.
  const [clientReply, serverReply, slowReply] = await Promise.all([
    send(pair, 'GET', clientError.path, { headers: { 'x-app-status': String(clientError.status) } }),
    send(pair, 'GET', serverError.path, { headers: { 'x-app-status': String(serverError.status) } }),
    send(pair, 'GET', slow.path, {
      headers: { 'x-app-delay-ms': String(timeoutMs + 1500) },
      timeoutMs: timeoutMs + 1000,
      late: `APP_TIMEOUT_MS is ${timeoutMs}, so the sidecar should have answered 504 by then`,
    }),
  ]);
  verify(clientReply.status, `the status of GET ${clientError.path} (the app answers ${clientError.status})`).is(clientError.status);
  verify(serverReply.status, `the status of GET ${serverError.path} (the app answers ${serverError.status})`).is(serverError.status);
  verify(slowReply.status, `the status of GET ${slow.path}, slower than APP_TIMEOUT_MS (${timeoutMs} ms)`).is(504);
  await pair.app.close();
  verify((await send(pair, 'GET', unreachable.path)).status, `the status of GET ${unreachable.path} once the app is gone`).is(502);
  await waitForTraces(pair, [clientError.path, serverError.path, slow.path, unreachable.path]);

  expectTrace(
    otlp.traces(),
    sidecarShape(pair, clientError.path, clientError.status, 'unset', [clientShape(pair, clientError.path, clientError.status, 'error', [])]),
    `the app answered ${clientError.status}: the CLIENT span that got it is ERROR with error.type "${clientError.status}"; ` +
      'the sidecar passed a correct answer on, the caller\'s mistake, so its SERVER span stays UNSET (a 4xx is not a server error)',
  );
  expectTrace(
    otlp.traces(),
    sidecarShape(pair, serverError.path, serverError.status, 'error', [clientShape(pair, serverError.path, serverError.status, 'error', [])]),
    `the app answered ${serverError.status}: both the CLIENT span and the SERVER span that answered it are ERROR with error.type "${serverError.status}"`,
  );
  expectTrace(
    otlp.traces(),
    sidecarShape(pair, slow.path, 504, 'error', [{ name: 'GET', kind: 'client', status: 'error', attributes: { 'error.type': 'timeout', 'http.response.status_code': absent() } }]),
    `the app did not answer within ${timeoutMs} ms: the CLIENT span is ERROR with error.type "timeout" and no status code (no answer came), the SERVER span ERROR with error.type "504"`,
  );
  expectTrace(
    otlp.traces(),
    sidecarShape(pair, unreachable.path, 502, 'error', [{ name: 'GET', kind: 'client', status: 'error', attributes: { 'error.type': present(), 'http.response.status_code': absent() } }]),
    'the app could not be reached: the CLIENT span is ERROR with an error.type (the error\'s code, ECONNREFUSED, is kind), the SERVER span ERROR with error.type "502"',
  );
});

// ---------------------------------------------------------------------------------------------
// The rig's shapes and waits
// ---------------------------------------------------------------------------------------------

function sidecarShape(pair: Pair, urlPath: string, status: number, spanStatus: 'unset' | 'error', children: SpanShape[]): SpanShape {
  return {
    name: 'GET',
    kind: 'server',
    status: spanStatus,
    resource: { 'service.name': pair.sidecarName },
    attributes: {
      'http.request.method': 'GET',
      'url.path': urlPath,
      'http.response.status_code': status,
      'error.type': spanStatus === 'error' ? String(status) : absent(),
    },
    children,
  };
}

function clientShape(pair: Pair, target: string, status: number, spanStatus: 'unset' | 'error', children: SpanShape[]): SpanShape {
  return {
    name: 'GET',
    kind: 'client',
    status: spanStatus,
    resource: { 'service.name': pair.sidecarName },
    attributes: {
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': pair.appPort,
      'url.full': `http://127.0.0.1:${pair.appPort}${target}`,
      'http.response.status_code': status,
      'error.type': spanStatus === 'error' ? String(status) : absent(),
    },
    children,
  };
}

function appShape(pair: Pair, route: string): SpanShape {
  return { name: `GET ${route}`, kind: 'server', resource: { 'service.name': pair.appName } };
}

/**
 * Waits until the sidecar's SERVER span of every path has arrived, with a CLIENT span for each, and
 * (`answered`) the app's SERVER span of each path too. The sidecar's spans are the ones not from the
 * app, whatever their service.name says: the shapes say what is wrong with it.
 */
async function waitForTraces(pair: Pair, paths: readonly string[], answered = false): Promise<void> {
  const fromApp = (span: SpanNode): boolean => serviceOf(span) === pair.appName;
  const servers = (spans: SpanNode[], app: boolean): boolean =>
    paths.every((path) => spans.some((span) => fromApp(span) === app && span.kind === 'server' && span.attributes['url.path'] === path));
  await otlp.waitForSpans((spans) => servers(spans, false) && spans.filter((span) => !fromApp(span) && span.kind === 'client').length >= paths.length, {
    timeoutMs: SPANS_MS,
    what: `the sidecar's spans of ${paths.length === 1 ? 'the request' : `${paths.length} requests`} (a SERVER span with url.path and a CLIENT span each), exported by the sidecar's own SDK (telemetry.ts)`,
  });
  if (answered) await otlp.waitForSpans((spans) => servers(spans, true), { timeoutMs: SPANS_MS, what: "the app's SERVER span of the request" });
}

/** Random end-to-end headers beside a random choice of hop-by-hop ones, some of them named in Connection. */
function randomHeaders(): { what: string; headers: IncomingHttpHeaders; kept: string[] } {
  const endToEnd = Array.from({ length: random.int(2, 5) }, () => `x-${random.word(random.int(3, 8))}`);
  const namedByConnection = Array.from({ length: random.int(1, 3) }, () => `x-hop-${random.word(5)}`);
  const fixed = random.sample(HOP_BY_HOP.filter((name) => name !== 'connection'), random.int(1, 5));
  const headers: IncomingHttpHeaders = { connection: ['keep-alive', ...namedByConnection].join(', ') };
  for (const name of [...endToEnd, ...namedByConnection, ...fixed]) headers[name] = random.word(8);
  return { what: `random headers (Connection: ${String(headers['connection'])}; ${fixed.join(', ')})`, headers, kept: [...new Set(endToEnd)] };
}

