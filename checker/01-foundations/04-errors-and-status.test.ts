import { it } from 'vitest';
import { absent, expectAllEnded, expectThat, expectTrace, fail, random, show, spansNamed, useTracing, verify, type SpanShape } from '#checks';
import { getQuote, type HttpResponse, type PricingClient } from '#target/01-foundations/04-errors-and-status/quote-handler.ts';

const otel = useTracing();

const SERVER = 'GET /quotes/:sku';
const CLIENT = 'GET /prices/:sku';

it('answers 200, 400, 404 or 502, and calls pricing only for a well-formed sku', async () => {
  const amountCents = random.int(1, 100_000);
  const sku = validSku();
  const ok = fakePricing(() => ({ status: 200, body: { amountCents } }));
  verify(await getQuote(sku, ok), `the answer to GET /quotes/${sku} when pricing answers 200`).equals({ status: 200, body: { sku, amountCents } });
  verify(ok.calls, 'the paths pricing was asked for').equals([`/prices/${sku}`]);

  for (const malformed of MALFORMED_SKUS) {
    const untouched = fakePricing(() => ({ status: 200, body: { amountCents } }));
    verify((await getQuote(malformed, untouched)).status, `the status of the answer for the malformed sku ${JSON.stringify(malformed)}`).is(400);
    verify(untouched.calls, `the calls to pricing for the malformed sku ${JSON.stringify(malformed)}`).hasCount(0, 'call');
  }
  verify((await getQuote(validSku(), fakePricing(() => ({ status: 404 })))).status, 'the status of the answer when pricing answers 404').is(404);
  for (const status of [...SERVER_ERRORS, ...OTHER_CLIENT_ERRORS]) {
    verify((await getQuote(validSku(), fakePricing(() => ({ status })))).status, `the status of the answer when pricing answers ${status}`).is(502);
  }
  for (const error of networkErrors()) {
    verify((await getQuote(validSku(), fakePricing(() => error))).status, `the status of the answer when pricing is unreachable (${show(error)})`).is(502);
  }
  const thrown = await rejection(getQuote(validSku(), fakePricing(() => ({ status: 200, body: { price: 1 } }))), 'getQuote, when pricing answers 200 without a price,');
  verify(thrown, 'what getQuote rejects with when pricing answers 200 without a price').isInstanceOf(TypeError);
});

it('leaves both spans unset when the quote succeeds', async () => {
  await getQuote(validSku(), fakePricing(() => ({ status: 200, body: { amountCents: random.int(1, 999) } })));
  expectTrace(
    otel,
    serverShape({
      status: 'unset',
      attributes: { 'http.response.status_code': 200, 'error.type': absent() },
      children: [clientShape({ status: 'unset', attributes: { 'http.response.status_code': 200, 'error.type': absent() } })],
    }),
    'a span is an error only when its operation failed',
  );
});

it('does not mark a 400 for a malformed sku as a server error', async () => {
  for (const sku of MALFORMED_SKUS) {
    otel.reset();
    await getQuote(sku, fakePricing(() => ({ status: 200, body: { amountCents: 1 } })));
    expectTrace(
      otel,
      serverShape({ status: 'unset', attributes: { 'http.response.status_code': 400, 'error.type': absent() } }),
      `a 4xx is the caller's mistake, answered correctly: a SERVER span leaves its status unset (sku ${JSON.stringify(sku)})`,
    );
    verify(
      otel.spans().filter((span) => span.kind === 'client').map((span) => span.name),
      `the CLIENT spans of a request for the malformed sku ${JSON.stringify(sku)} (pricing is never called)`,
    ).equals([]);
  }
});

it('marks a 404 from pricing as an error of the CLIENT span, not of the SERVER span', async () => {
  await getQuote(validSku(), fakePricing(() => ({ status: 404 })));
  expectTrace(
    otel,
    serverShape({
      status: 'unset',
      attributes: { 'http.response.status_code': 404, 'error.type': absent() },
      children: [clientShape({ status: 'error', attributes: { 'http.response.status_code': 404, 'error.type': '404' } })],
    }),
    'the same 404 is a failed call for the client that got it, and a correct answer for the server that gives it',
  );
});

it('marks a 5xx (or another 4xx) from pricing as an error on both spans, with error.type', async () => {
  for (const status of [...SERVER_ERRORS, ...OTHER_CLIENT_ERRORS]) {
    otel.reset();
    await getQuote(validSku(), fakePricing(() => ({ status })));
    expectTrace(
      otel,
      serverShape({
        status: 'error',
        attributes: { 'http.response.status_code': 502, 'error.type': '502' },
        children: [clientShape({ status: 'error', attributes: { 'http.response.status_code': status, 'error.type': String(status) } })],
      }),
      `ERROR status says that it failed; error.type says how: the status code, as a string (pricing answered ${status})`,
    );
  }
});

it('records the exception when pricing is unreachable, and still ends the CLIENT span', async () => {
  for (const error of networkErrors()) {
    otel.reset();
    await getQuote(validSku(), fakePricing(() => error));
    expectAllEnded(otel, `a span must end even when the awaited call rejects (${show(error)})`);
    expectTrace(
      otel,
      serverShape({
        status: 'error',
        attributes: { 'http.response.status_code': 502, 'error.type': '502' },
        children: [
          clientShape({
            status: 'error',
            attributes: { 'error.type': error.name },
            events: [{ name: 'exception', attributes: { 'exception.type': error.name, 'exception.message': error.message } }],
          }),
        ],
      }),
      `a call that threw: recordException, ERROR status, and error.type = the error's name (${show(error)})`,
    );
  }
});

it('records an exception that escapes the handler on the SERVER span, and still ends it', async () => {
  const broken = fakePricing(() => ({ status: 200, body: { price: random.int(1, 999) } }));
  await rejection(getQuote(validSku(), broken), 'getQuote, when pricing answers 200 without a price,');
  verify(spansNamed(otel, SERVER), 'a request whose handler throws').hasCount(1, `"${SERVER}" span`);
  expectAllEnded(otel, 'a span must end even when the handler throws');
  expectTrace(
    otel,
    serverShape({
      status: 'error',
      attributes: { 'error.type': 'TypeError' },
      events: [{ name: 'exception', attributes: { 'exception.type': 'TypeError' } }],
      children: [clientShape({ status: 'unset', attributes: { 'error.type': absent() } })],
    }),
    'an exception that ends the operation is recorded on its span before it propagates',
  );
});

// ---- the rig: skus, a pricing service that answers what the check says, and the span shapes

/** Every way a sku can be malformed, every run: lower case, too short, too long, a space, a stray character. */
const MALFORMED_SKUS = ['sku-123', 'AB', `P-${'9'.repeat(20)}`, 'SKU 42', 'ITEM-7!'];
const SERVER_ERRORS = [500, 502, 503, 504];
/** Pricing answers a 4xx that is not 404: the call failed, and the quote cannot be given (502). */
const OTHER_CLIENT_ERRORS = [random.pick([400, 409, 429])];

function validSku(): string {
  return `${random.pick(['SKU', 'P', 'ITEM'])}-${random.int(100, 99_999)}`;
}

/** A pricing service that answers what the check says, and remembers what it was asked. */
function fakePricing(answer: (path: string) => HttpResponse | Error): PricingClient & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    get: async (path) => {
      calls.push(path);
      await Promise.resolve();
      const result = answer(path);
      if (result instanceof Error) throw result;
      return result;
    },
  };
}

class ConnectionRefusedError extends Error {
  override readonly name = 'ConnectionRefusedError';
}

/** A timeout whose name is not its class's (a plain Error renamed, as fetch's are), and an error class of its own. */
function networkErrors(): Error[] {
  const host = `10.0.${random.int(0, 255)}.${random.int(1, 254)}:8080`;
  const timeout = new Error(`connect to pricing ${host} failed: timed out after ${random.int(100, 999)} ms`);
  timeout.name = 'TimeoutError';
  return random.shuffle([timeout, new ConnectionRefusedError(`connect to pricing ${host} failed: refused`)]);
}

function serverShape(extra: Omit<SpanShape, 'name'>): SpanShape {
  return { name: SERVER, kind: 'server', ...extra };
}

function clientShape(extra: Omit<SpanShape, 'name'>): SpanShape {
  return { name: CLIENT, kind: 'client', ...extra };
}

/** The error a promise rejects with; fails the check when it resolves instead. */
async function rejection(promise: Promise<unknown>, what: string): Promise<unknown> {
  const outcome = await promise.then(
    (value) => ({ resolved: true as const, value }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  if (outcome.resolved) fail(`${what} must reject with a TypeError, but it resolved with ${show(outcome.value)}`);
  expectThat(outcome.error !== undefined, `${what} rejects with the error`, 'it rejected with undefined');
  return outcome.error;
}
