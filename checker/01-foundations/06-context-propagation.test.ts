import { it } from 'vitest';
import { context, trace } from '@opentelemetry/api';
import { closeAfter, expectAllEnded, expectThat, expectTrace, fail, random, show, useTracing, verify, type SpanNode, type SpanShape } from '#checks';
import { httpRequest, startHttpServer, type HttpResponse } from '#kit';
import { greet } from '#target/01-foundations/06-context-propagation/client.ts';
import { handleRequest } from '#target/01-foundations/06-context-propagation/server.ts';

const otel = useTracing();

it('greets by name across a real HTTP hop', async () => {
  const greeter = await startGreeter();
  for (let i = 0; i < 3; i++) {
    const name = randomName();
    verify(await answered(greet(greeter.url, name), `greet(url, ${JSON.stringify(name)})`), `what greet(url, ${JSON.stringify(name)}) returns`).is(`Hello, ${name}!`);
  }
});

it('the client sends a W3C traceparent header that names its CLIENT span', async () => {
  const greeter = await startGreeter();
  // Once outside any span, once inside a span of the caller: either way the header names the CLIENT span.
  await answered(greet(greeter.url, randomName()), 'greet()');
  const caller = otel.tracer().startSpan('caller');
  await answered(context.with(trace.setSpan(context.active(), caller), () => greet(greeter.url, randomName())), 'greet() inside a span');
  caller.end();
  await otel.settled();
  const clients = otel.spans().filter((span) => span.name === 'GET /greet' && span.kind === 'client');
  verify(clients, 'two calls to greet()').hasCount(2, 'CLIENT span "GET /greet"');
  greeter.traceparents.forEach((header, i) => {
    const client = clients[i];
    const call = i === 0 ? 'the call outside any span' : 'the call inside the caller\'s span';
    expectThat(
      header !== undefined,
      `the request of ${call} carries a traceparent header: call propagation.inject(context.active(), headers) while the CLIENT span is active, and send those headers`,
      'it reached the server without one',
    );
    verify(header, `the traceparent of ${call}, which must name the CLIENT span (trace ${client?.traceId}, span ${client?.spanId}): inject inside startActiveSpan`).matches(
      new RegExp(`^00-${client?.traceId}-${client?.spanId}-[0-9a-f]{2}$`),
    );
  });
});

it('the server continues the trace named by an incoming traceparent', async () => {
  const greeter = await startGreeter();
  const name = randomName();
  const upstream = otel.tracer().startSpan('upstream caller');
  const { traceId, spanId } = upstream.spanContext();
  const response = await send(greeter.url, name, { traceparent: `00-${traceId}-${spanId}-01` });
  upstream.end();
  verify(response.status, 'the status of GET /greet with a valid traceparent').is(200);
  verify(response.body, 'the greeting').is(`Hello, ${name}!`);
  await otel.settled();
  expectTrace(
    otel,
    { name: 'upstream caller', children: [serverShape()] },
    'the server extracts the caller\'s context from the traceparent header and starts its SERVER span as a child of it',
  );
  verify(serverSpans(), 'one request').hasCount(1, 'SERVER span "GET /greet"');
});

it('one trace crosses the hop: the SERVER span is a child of the CLIENT span', async () => {
  const greeter = await startGreeter();
  const name = randomName();
  await answered(greet(greeter.url, name), 'greet()');
  await otel.settled();
  expectTrace(
    otel,
    {
      name: 'GET /greet',
      kind: 'client',
      scope: 'tracecraft.greeter-client',
      attributes: {
        'http.request.method': 'GET',
        'server.address': '127.0.0.1',
        'server.port': greeter.port,
        'url.full': `${greeter.url}/greet?name=${name}`,
        'http.response.status_code': 200,
      },
      children: [serverShape()],
    },
    'context propagation: the client injects its span into the request, the server extracts it, and both spans share one trace',
  );
  verify(serverSpans(), 'one call to greet()').hasCount(1, 'SERVER span "GET /greet"');
  expectAllEnded(otel);
});

it('a missing or malformed traceparent starts a new trace instead of failing the request', async () => {
  const greeter = await startGreeter();
  const sent = random.shuffle(malformedTraceparents()).map((m) => ({ ...m, why: m.header === undefined ? m.why : `${m.why} (traceparent: ${JSON.stringify(m.header)})` }));
  for (const { header, why } of sent) {
    const name = randomName();
    const response = await send(greeter.url, name, header === undefined ? {} : { traceparent: header });
    verify(response.status, `the status of a request with ${why}`).is(200);
    verify(response.body, `the greeting for a request with ${why}`).is(`Hello, ${name}!`);
  }
  await otel.settled();
  const spans = serverSpans();
  verify(spans, `${sent.length} requests with a missing or malformed traceparent`).hasCount(sent.length, 'SERVER span "GET /greet"');
  spans.forEach((span, i) => {
    const { why, traceId } = sent[i] ?? { why: 'this header' };
    expectThat(
      span.parentSpanId === undefined,
      `the SERVER span of a request with ${why} is a root: an unreadable header gives no parent (let propagation.extract read it)`,
      `it has the parent span ${span.parentSpanId}`,
    );
    if (traceId !== undefined) {
      expectThat(span.traceId.toLowerCase() !== traceId, `the SERVER span of a request with ${why} starts a new trace, not the one the header pretends to carry`, `it took the trace id ${span.traceId}`);
    }
  });
  verify(new Set(spans.map((span) => span.traceId)).size, `the traces of ${sent.length} requests with a missing or malformed traceparent (one new trace each)`).is(sent.length);
  expectAllEnded(otel);
});

// ---- the rig: the learner's server on loopback, requests with headers of our own, and the span shapes

/** Well under the per-check limit, so a request that never gets an answer fails as a check, not as a hang. */
const ANSWER_MS = 1500;

interface Greeter {
  url: string;
  port: number;
  /** The traceparent header of every request the server received, in order. */
  traceparents: (string | undefined)[];
}

/** Starts the learner's server on loopback, noting the traceparent each request arrives with; closed when the check ends. */
async function startGreeter(): Promise<Greeter> {
  const traceparents: (string | undefined)[] = [];
  const server = closeAfter(
    await startHttpServer((request, response) => {
      const header = request.headers['traceparent'];
      traceparents.push(Array.isArray(header) ? header[0] : header);
      return handleRequest(request, response);
    }),
  );
  return { url: server.url, port: server.port, traceparents };
}

function send(url: string, name: string, headers: Record<string, string>): Promise<HttpResponse> {
  const described = headers['traceparent'] === undefined ? 'without traceparent' : `with traceparent ${JSON.stringify(headers['traceparent'])}`;
  return answered(httpRequest(`${url}/greet?name=${name}`, { headers, timeoutMs: ANSWER_MS * 2 }), `GET /greet ${described}`);
}

/** The work's value; a check failure when it takes longer than ANSWER_MS or fails. */
async function answered<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ANSWER_MS);
  });
  try {
    const outcome = await Promise.race([work.then((value) => ({ value }), (error: unknown) => ({ error })), late]);
    if (outcome === 'late') fail(`${what}: no answer within ${ANSWER_MS} ms (does the server end every response?)`);
    if ('error' in outcome) fail(`${what} failed: ${show(outcome.error)}`);
    return outcome.value;
  } finally {
    clearTimeout(timer);
  }
}

function randomName(): string {
  return random.word(random.int(3, 9));
}

const hex = (length: number): string => Array.from({ length }, () => random.pick([...'0123456789abcdef'])).join('');

/**
 * Every kind the README names, every run: what the W3C rules reject, and the trace id the header
 * pretends to carry, if any (a SERVER span must not take it).
 */
function malformedTraceparents(): { header: string | undefined; why: string; traceId?: string }[] {
  const traceId = hex(32);
  const spanId = hex(16);
  const lettered = `ab${hex(30)}`;
  return [
    { header: undefined, why: 'no traceparent header' },
    { header: '', why: 'an empty traceparent' },
    { header: `garbage-${random.word(8)}`, why: 'a traceparent that is not one' },
    { header: hex(55), why: 'a traceparent without dashes' },
    { header: `00-${traceId.slice(1)}-${spanId}-01`, why: 'a trace id one digit short' },
    { header: `00-${'0'.repeat(32)}-${spanId}-01`, why: 'an all-zero trace id' },
    { header: `00-${traceId}-${'0'.repeat(16)}-01`, why: 'an all-zero span id', traceId },
    { header: `ff-${traceId}-${spanId}-01`, why: 'the forbidden version ff', traceId },
    { header: `00-${lettered.toUpperCase()}-${spanId.toUpperCase()}-01`, why: 'upper-case hex digits', traceId: lettered },
    { header: `00-${traceId}-${spanId}`, why: 'no flags', traceId },
    { header: `00-${traceId}-${spanId}-0g`, why: 'flags that are not hex', traceId },
    { header: `00-${traceId}-${spanId}-01-${random.word(4)}`, why: 'a fifth field after version 00', traceId },
    { header: `00-${traceId}-${spanId}-01,00-${hex(32)}-${hex(16)}-01`, why: 'two traceparents in one header', traceId },
  ];
}

function serverSpans(): SpanNode[] {
  return otel.spans().filter((span) => span.name === 'GET /greet' && span.kind === 'server');
}

function serverShape(): SpanShape {
  return {
    name: 'GET /greet',
    kind: 'server',
    scope: 'tracecraft.greeter',
    attributes: { 'http.request.method': 'GET', 'url.path': '/greet', 'http.route': '/greet', 'http.response.status_code': 200 },
  };
}
