import { afterEach, expect, it } from 'vitest';
import { expectAllEnded, expectTrace, random, CheckFailure, useTracing, type SpanShape } from '#checks';
import { httpRequest, startHttpServer, type LoopbackServer } from '#kit';
import { setTimeout as sleep } from 'node:timers/promises';
import { greet } from '#target/01-foundations/06-context-propagation/client.ts';
import { handleRequest } from '#target/01-foundations/06-context-propagation/server.ts';

const otel = useTracing();

/** Well under the per-check limit, so a request that never gets an answer fails as a check, not as a hang. */
const ANSWER_MS = 1500;

const servers: LoopbackServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

interface Greeter {
  url: string;
  port: number;
  /** The traceparent header of every request the server received, in order. */
  traceparents: (string | undefined)[];
}

/** Starts the learner's server on loopback, noting the traceparent each request arrives with. */
async function startGreeter(): Promise<Greeter> {
  const traceparents: (string | undefined)[] = [];
  const server = await startHttpServer((request, response) => {
    const header = request.headers['traceparent'];
    traceparents.push(Array.isArray(header) ? header[0] : header);
    return handleRequest(request, response);
  });
  servers.push(server);
  return { url: server.url, port: server.port, traceparents };
}

async function answered<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CheckFailure(`${what}: no answer within ${ANSWER_MS} ms (does the server end every response?)`)),
      ANSWER_MS,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A server may end its span just after the answer left: give open spans a moment to end. */
async function spansSettled(): Promise<void> {
  const deadline = Date.now() + 500;
  while (otel.openSpans().length > 0 && Date.now() < deadline) await sleep(5);
}

function randomName(): string {
  return random.word(random.int(3, 9));
}

const hex = (length: number): string => Array.from({ length }, () => random.pick([...'0123456789abcdef'])).join('');

/** Headers that the W3C trace-context rules reject, with the trace id they pretend to carry, if any. */
function malformedTraceparent(): { header: string; traceId?: string } {
  const traceId = hex(32);
  const spanId = hex(16);
  const lettered = `ab${traceId.slice(2)}`;
  return random.pick([
    { header: `garbage-${random.word(8)}` },
    { header: hex(55) },
    { header: '' },
    { header: `00-${'0'.repeat(32)}-${spanId}-01` },
    { header: `00-${traceId}-${'0'.repeat(16)}-01`, traceId },
    { header: `ff-${traceId}-${spanId}-01`, traceId },
    { header: `00-${lettered.toUpperCase()}-${spanId}-01`, traceId: lettered },
    { header: `00-${traceId.slice(1)}-${spanId}-01` },
    { header: `00-${traceId}-${spanId}`, traceId },
    { header: `00-${traceId}-${spanId}-0g`, traceId },
    { header: `00-${traceId}-${spanId}-01-${random.word(4)}`, traceId },
    { header: `00-${traceId}-${spanId}-01,00-${hex(32)}-${hex(16)}-01`, traceId },
  ]);
}

function serverShape(): SpanShape {
  return {
    name: 'GET /greet',
    kind: 'server',
    attributes: {
      'http.request.method': 'GET',
      'url.path': '/greet',
      'http.route': '/greet',
      'http.response.status_code': 200,
    },
  };
}

it('greets by name across a real HTTP hop', async () => {
  const greeter = await startGreeter();
  for (let i = 0; i < 3; i++) {
    const name = randomName();
    expect(await answered(greet(greeter.url, name), 'greet()'), `greet(url, ${JSON.stringify(name)})`).toBe(`Hello, ${name}!`);
  }
});

it('the client sends a W3C traceparent header that names its CLIENT span', async () => {
  const greeter = await startGreeter();
  await answered(greet(greeter.url, randomName()), 'greet()');
  await spansSettled();
  const client = otel.spans().find((s) => s.name === 'GET /greet' && s.kind === 'client');
  expect(client, 'greet() should record a CLIENT span named "GET /greet"').toBeDefined();
  const header = greeter.traceparents[0];
  expect(
    header,
    'the request reached the server without a traceparent header: call propagation.inject(context.active(), headers) while the CLIENT span is active, and send those headers',
  ).toBeDefined();
  expect(
    header,
    `the traceparent must name the CLIENT span (trace ${client?.traceId}, span ${client?.spanId}): inject the context that holds it, inside startActiveSpan`,
  ).toMatch(new RegExp(`^00-${client?.traceId}-${client?.spanId}-[0-9a-f]{2}$`));
});

it('the server continues the trace named by an incoming traceparent', async () => {
  const greeter = await startGreeter();
  const name = randomName();
  const upstream = otel.tracer().startSpan('upstream caller');
  const { traceId, spanId } = upstream.spanContext();
  const response = await answered(
    httpRequest(`${greeter.url}/greet?name=${name}`, { headers: { traceparent: `00-${traceId}-${spanId}-01` }, timeoutMs: ANSWER_MS }),
    'GET /greet',
  );
  upstream.end();
  expect(response.status, 'GET /greet with a valid traceparent answers 200').toBe(200);
  expect(response.body, 'the greeting').toBe(`Hello, ${name}!`);
  await spansSettled();
  expectTrace(
    otel,
    { name: 'upstream caller', children: [serverShape()] },
    'the server extracts the caller\'s context from the traceparent header and starts its SERVER span as a child of it',
  );
});

it('one trace crosses the hop: the SERVER span is a child of the CLIENT span', async () => {
  const greeter = await startGreeter();
  await answered(greet(greeter.url, randomName()), 'greet()');
  await spansSettled();
  expectTrace(
    otel,
    {
      name: 'GET /greet',
      kind: 'client',
      attributes: {
        'http.request.method': 'GET',
        'server.address': '127.0.0.1',
        'server.port': greeter.port,
        'url.full': new RegExp(`^${greeter.url.replace(/\./g, '\\.')}/greet\\?name=`),
        'http.response.status_code': 200,
      },
      children: [serverShape()],
    },
    'context propagation: the client injects its span into the request, the server extracts it, and both spans share one trace',
  );
  expectAllEnded(otel);
});

it('a malformed traceparent starts a new trace instead of failing the request', async () => {
  const greeter = await startGreeter();
  const sent = Array.from({ length: random.int(3, 5) }, malformedTraceparent);
  for (const { header } of sent) {
    const name = randomName();
    const response = await answered(
      httpRequest(`${greeter.url}/greet?name=${name}`, { headers: { traceparent: header }, timeoutMs: ANSWER_MS }),
      `GET /greet with traceparent ${JSON.stringify(header)}`,
    );
    expect(response.status, `a request with the malformed traceparent ${JSON.stringify(header)} must still be answered 200`).toBe(200);
    expect(response.body, 'the greeting').toBe(`Hello, ${name}!`);
  }
  await spansSettled();
  const serverSpans = otel.spans().filter((s) => s.name === 'GET /greet' && s.kind === 'server');
  expect(serverSpans, 'every request makes one SERVER span "GET /greet"').toHaveLength(sent.length);
  serverSpans.forEach((span, i) => {
    const { header, traceId } = sent[i] ?? { header: '' };
    expect(span.parentSpanId, `the SERVER span for traceparent ${JSON.stringify(header)} must be a root: an unreadable header gives no parent`).toBeUndefined();
    if (traceId) {
      expect(span.traceId, `the SERVER span must not reuse the trace id of the malformed traceparent ${JSON.stringify(header)}`).not.toBe(traceId);
    }
  });
  expect(new Set(serverSpans.map((s) => s.traceId)).size, 'each request with a malformed traceparent starts a trace of its own').toBe(sent.length);
});
