import { expect, it } from 'vitest';
import { absent, expectAllEnded, expectTrace, random, useTracing, type SpanShape } from '#checks';
import { getQuote, type HttpResponse, type PricingClient } from '#target/01-foundations/04-errors-and-status/quote-handler.ts';

const otel = useTracing();

const SERVER = 'GET /quotes/:sku';
const CLIENT = 'GET /prices/:sku';

function validSku(): string {
  return `${random.pick(['SKU', 'P', 'ITEM'])}-${random.int(100, 99_999)}`;
}

function malformedSku(): string {
  return random.pick([random.word(random.int(3, 8)), `sku ${random.int(1, 999)}`, `${validSku()}!`, 'X']);
}

/** A pricing service that answers what the test says, and remembers what it was asked. */
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

function networkError(): Error {
  const error = new Error(`connect to pricing 10.0.${random.int(0, 255)}.${random.int(1, 254)}:8080 failed`);
  error.name = random.pick(['TimeoutError', 'ConnectionRefusedError', 'ConnectionResetError']);
  return error;
}

function serverShape(extra: Omit<SpanShape, 'name'>): SpanShape {
  return { name: SERVER, kind: 'server', ...extra };
}

it('answers 200, 400, 404 or 502, and calls pricing only for a well-formed sku', async () => {
  const amountCents = random.int(1, 100_000);
  const sku = validSku();
  const ok = fakePricing(() => ({ status: 200, body: { amountCents } }));
  expect(await getQuote(sku, ok), 'a known product gets its price').toEqual({ status: 200, body: { sku, amountCents } });
  expect(ok.calls, 'pricing is asked for that sku').toEqual([`/prices/${sku}`]);

  const untouched = fakePricing(() => ({ status: 200, body: { amountCents } }));
  expect((await getQuote(malformedSku(), untouched)).status, 'a malformed sku is a 400').toBe(400);
  expect(untouched.calls, 'a malformed sku never reaches pricing').toEqual([]);

  expect((await getQuote(validSku(), fakePricing(() => ({ status: 404 })))).status, 'an unknown product is a 404').toBe(404);
  const failing = fakePricing(() => ({ status: random.pick([500, 502, 503]) }));
  expect((await getQuote(validSku(), failing)).status, 'a failing pricing service is a 502').toBe(502);
  expect((await getQuote(validSku(), fakePricing(networkError))).status, 'an unreachable pricing service is a 502').toBe(502);
});

it('leaves both spans unset when the quote succeeds', async () => {
  await getQuote(validSku(), fakePricing(() => ({ status: 200, body: { amountCents: random.int(1, 999) } })));
  expectTrace(
    otel,
    serverShape({
      status: 'unset',
      attributes: { 'http.response.status_code': 200, 'error.type': absent() },
      children: [{ name: CLIENT, kind: 'client', status: 'unset', attributes: { 'http.response.status_code': 200, 'error.type': absent() } }],
    }),
    'a span is an error only when its operation failed',
  );
});

it('does not mark a 400 for a malformed sku as a server error', async () => {
  await getQuote(malformedSku(), fakePricing(() => ({ status: 200, body: { amountCents: 1 } })));
  expectTrace(
    otel,
    serverShape({ status: 'unset', attributes: { 'http.response.status_code': 400, 'error.type': absent() } }),
    'a 4xx is the caller\'s mistake, answered correctly: a SERVER span leaves its status unset',
  );
  const calls = otel.spans().filter((s) => s.kind === 'client');
  expect(calls.map((s) => s.name), 'a malformed sku makes no CLIENT span: pricing is never called').toEqual([]);
});

it('marks a 404 from pricing as an error of the CLIENT span, not of the SERVER span', async () => {
  await getQuote(validSku(), fakePricing(() => ({ status: 404 })));
  expectTrace(
    otel,
    serverShape({
      status: 'unset',
      attributes: { 'http.response.status_code': 404, 'error.type': absent() },
      children: [{ name: CLIENT, kind: 'client', status: 'error', attributes: { 'http.response.status_code': 404, 'error.type': '404' } }],
    }),
    'the same 404 is a failed call for the client that got it, and a correct answer for the server that gives it',
  );
});

it('marks a 5xx from pricing as an error on both spans, with error.type', async () => {
  const status = random.pick([500, 502, 503, 504]);
  await getQuote(validSku(), fakePricing(() => ({ status })));
  expectTrace(
    otel,
    serverShape({
      status: 'error',
      attributes: { 'http.response.status_code': 502, 'error.type': '502' },
      children: [{ name: CLIENT, kind: 'client', status: 'error', attributes: { 'http.response.status_code': status, 'error.type': String(status) } }],
    }),
    'ERROR status says that it failed; error.type says how (the status code, as a string)',
  );
});

it('records the exception when pricing is unreachable, and still ends the CLIENT span', async () => {
  const error = networkError();
  await getQuote(validSku(), fakePricing(() => error));
  expectAllEnded(otel, 'a span must end even when the awaited call rejects');
  expectTrace(
    otel,
    serverShape({
      status: 'error',
      attributes: { 'http.response.status_code': 502, 'error.type': '502' },
      children: [
        {
          name: CLIENT,
          kind: 'client',
          status: 'error',
          attributes: { 'error.type': error.name },
          events: [{ name: 'exception', attributes: { 'exception.type': error.name, 'exception.message': error.message } }],
        },
      ],
    }),
    'a call that threw: recordException, ERROR status, and error.type = the error\'s name',
  );
});

it('records an exception that escapes the handler on the SERVER span, and still ends it', async () => {
  const broken = fakePricing(() => ({ status: 200, body: { price: random.int(1, 999) } }));
  await expect(getQuote(validSku(), broken), 'a price without amountCents makes getQuote reject').rejects.toThrow(TypeError);
  expectAllEnded(otel, 'a span must end even when the handler throws');
  expectTrace(
    otel,
    serverShape({
      status: 'error',
      attributes: { 'error.type': 'TypeError' },
      events: [{ name: 'exception', attributes: { 'exception.type': 'TypeError' } }],
      children: [{ name: CLIENT, kind: 'client', status: 'unset' }],
    }),
    'an exception that ends the operation is recorded on its span before it propagates',
  );
});
