import { it } from 'vitest';
import type { AttributeValue } from '@opentelemetry/api';
import { afterCheck, describeAttributes, expectAllEnded, expectThat, fail, pointsWhere, random, show, useMetrics, useTracing, verify, type SpanNode } from '#checks';
import { deferred, type Deferred } from '#kit';
import { createOrdersApi } from '#target/06-pipeline/04-red-metrics/server.ts';
import {
  ACTIVE,
  attributeValues,
  bucketOf,
  BUCKETS,
  counterAttributes,
  counterSeries,
  describe,
  describePoints,
  DURATION,
  durationAttributes,
  durationHint,
  durationSeries,
  edgeRequests,
  groupBy,
  histogramTotals,
  prepare,
  randomRequest,
  request,
  REQUESTS,
  requestsText,
  ROUTES,
  send,
  sendAll,
  startApi,
  STATUS_CLASS,
  storeReached,
  whyMissing,
  type Planned,
} from './04-red-metrics.rig.ts';

const otel = useTracing();
const meters = useMetrics();

const start = () => startApi(createOrdersApi);

const DURATION_CONCEPT = 'the request duration (the D of RED)';
const REQUESTS_CONCEPT = 'the request rate and errors (the R and E of RED)';
const ACTIVE_CONCEPT = 'the requests in flight';

/** Every route and outcome once, in a random order. */
function everyKind(): Planned[] {
  return random.shuffle([
    request('list', 'ok', random.int(1, 900)),
    request('list', 'fails', random.int(1, 900)),
    request('find', 'ok', random.int(1, 900)),
    request('find', 'missing', random.int(1, 900)),
    request('find', 'invalid', 0),
    request('find', 'fails', random.int(1, 900)),
    request('customer', 'ok', random.int(1, 900)),
    request('customer', 'fails', random.int(1, 900)),
    request('create', 'ok', random.int(1, 900)),
    request('create', 'invalid', 0),
    request('create', 'fails', random.int(1, 900)),
    request('unmatched', 'unmatched', 0),
  ]);
}

/** The edges every run, every kind of request, and random ones. */
function fullPlan(): Planned[] {
  return random.shuffle([...edgeRequests(), ...everyKind(), ...Array.from({ length: random.int(3, 6) }, randomRequest)]);
}

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('serves the orders API as before: 200, 201, 400, 404 for an unknown order or path, 500 when the store fails', async () => {
  const { url, store } = await start();
  const plan = [...everyKind(), ...Array.from({ length: random.int(2, 5) }, randomRequest)];
  // send() fails in words on any other status.
  for (const planned of plan) {
    const before = store.calls.length;
    prepare(store, planned);
    await send(url, planned);
    const calls = store.calls.length - before;
    const expected = planned.key === undefined ? 0 : 1;
    if (calls !== expected) {
      fail(
        `${describe(planned)} reached the order store ${calls === 1 ? 'once' : `${calls} times`}, expected ${expected === 0 ? 'never' : 'once'}` +
          (calls > expected ? ': measureRequest must call serve() exactly once, or a POST creates its order twice' : ''),
      );
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Duration: http.server.request.duration
// ---------------------------------------------------------------------------------------------

it('http.server.request.duration is a histogram in seconds, with the bucket boundaries the conventions advise', async () => {
  const { url, store } = await start();
  await sendAll(url, store, everyKind());
  const duration = (await meters.collect()).histogram(DURATION, DURATION_CONCEPT);
  verify(duration.unit, `the unit of ${DURATION}`).is('s');
  const boundaries = duration.points[0]?.boundaries ?? [];
  if (boundaries.length > 0 && boundaries.at(-1) === 10_000) {
    fail(
      `the bucket boundaries of ${DURATION} are the SDK's defaults, ${show(boundaries)}, made for milliseconds: every request of a few ` +
        `seconds or less lands in the first two buckets. Give the README's boundaries, in seconds, as advice: { explicitBucketBoundaries: ${show(BUCKETS)} }`,
    );
  }
  verify(boundaries, `the bucket boundaries of ${DURATION}, in seconds`).equals(BUCKETS);
});

it('counts each request in http.server.request.duration by method, route and status, and sums its duration in seconds, measured on the clock it is given', async () => {
  const { url, store } = await start();
  const plan = fullPlan();
  await sendAll(url, store, plan);
  const duration = (await meters.collect()).histogram(DURATION, DURATION_CONCEPT);
  for (const [series, requests] of groupBy(plan, durationSeries)) {
    const first = requests[0] as Planned;
    const attributes = durationAttributes(first);
    const totals = histogramTotals(duration, attributes);
    const sent = `the ${requestsText(requests.length)} ${series} (${describeAttributes(withoutAbsent(attributes))})`;
    if (totals.count === 0) fail(`${DURATION} has no point for ${sent}: ${whyMissing(duration, attributes)}`);
    verify(totals.count, `the count of ${DURATION} for ${sent}`).is(requests.length);
    const expected = requests.reduce((sum, p) => sum + p.ms, 0) / 1000;
    if (Math.abs(totals.sum - expected) > 1e-6) {
      fail(
        `the sum of ${DURATION} for ${sent} is ${+totals.sum.toFixed(6)} s, expected ${+expected.toFixed(6)} s (the store took ${requests.map((p) => `${p.ms} ms`).join(', ')} ` +
          `on the fake clock)${durationHint(totals.sum, expected)}`,
      );
    }
  }
  verify(duration.points.reduce((sum, p) => sum + p.count, 0), `the requests ${DURATION} counts in all`).is(plan.length);
});

it('puts each duration in its bucket: 0 in the first, one exactly on a boundary in the bucket it closes, one past 10 s in the last', async () => {
  const { url, store } = await start();
  const plan = fullPlan();
  await sendAll(url, store, plan);
  const duration = (await meters.collect()).histogram(DURATION, DURATION_CONCEPT);
  verify(duration.points[0]?.boundaries, `the bucket boundaries of ${DURATION}, in seconds`).equals(BUCKETS);
  for (const [series, requests] of groupBy(plan, durationSeries)) {
    const attributes = durationAttributes(requests[0] as Planned);
    const totals = histogramTotals(duration, attributes);
    if (totals.count === 0) fail(`${DURATION} has no point for the requests ${series}: ${whyMissing(duration, attributes)}`);
    const expected = Array.from({ length: BUCKETS.length + 1 }, () => 0);
    for (const planned of requests) expected[bucketOf(planned.ms / 1000)] = (expected[bucketOf(planned.ms / 1000)] ?? 0) + 1;
    verify(totals.counts, `the bucket counts of ${DURATION} for the requests ${series} (durations ${requests.map((p) => `${p.ms / 1000} s`).join(', ')}; a bucket holds the values up to its boundary, included)`).equals(expected);
  }
});

// ---------------------------------------------------------------------------------------------
// Rate and Errors: app.http.server.requests
// ---------------------------------------------------------------------------------------------

it('counts requests in app.http.server.requests by method, route and status class (2xx, 4xx, 5xx), one series for each', async () => {
  const { url, store } = await start();
  const plan = fullPlan();
  await sendAll(url, store, plan);
  const requests = (await meters.collect()).counter(REQUESTS, REQUESTS_CONCEPT);
  verify(requests.unit, `the unit of ${REQUESTS}`).is('{request}');
  const groups = groupBy(plan, counterSeries);
  for (const [series, sent] of groups) {
    const attributes = counterAttributes(sent[0] as Planned);
    const points = pointsWhere(requests, attributes);
    const what = `the ${requestsText(sent.length)} ${series}`;
    if (points.length === 0) fail(`${REQUESTS} has no point for ${what}: ${whyMissing(requests, attributes)}`);
    verify(points.reduce((sum, p) => sum + p.value, 0), `${REQUESTS} for ${what}`).is(sent.length);
  }
  if (requests.points.length > groups.size) {
    const extra = [...new Set(requests.points.flatMap((p) => Object.keys(p.attributes)))].filter((key) => !['http.request.method', 'http.route', STATUS_CLASS].includes(key));
    fail(
      `${REQUESTS} has ${requests.points.length} series for ${groups.size} combinations of method, route and status class: ` +
        `${extra.length > 0 ? `${extra.join(', ')} splits them` : 'something splits them'} (${describePoints(requests, 4)}). ` +
        'Count by status class, not by status code: two series per route are what an error-rate alert reads',
    );
  }
});

// ---------------------------------------------------------------------------------------------
// In flight: http.server.active_requests
// ---------------------------------------------------------------------------------------------

it('counts the requests in flight in http.server.active_requests, and every series comes back to 0 once they are answered, a failed one included', async () => {
  const { url, store } = await start();
  const held = random.shuffle([
    request('find', 'fails', 0),
    request('create', 'ok', 0),
    ...Array.from({ length: random.int(1, 4) }, () => request(random.pick(['find', 'customer', 'create'] as const), random.pick(['ok', 'fails'] as const), 0)),
  ]);
  const gates: Deferred<void>[] = [];
  const answers = held.map((planned) => {
    const gate = deferred();
    gates.push(gate);
    prepare(store, planned, gate);
    return send(url, planned);
  });
  // A check that fails while requests are held lets them go, and their answers no longer matter.
  afterCheck(() => gates.forEach((gate) => gate.resolve()));
  for (const answer of answers) answer.catch(() => undefined);
  await storeReached(store, held.length);
  const during = (await meters.collect()).upDownCounter(ACTIVE, ACTIVE_CONCEPT);
  verify(during.unit, `the unit of ${ACTIVE}`).is('{request}');
  for (const [method, inFlight] of groupBy(held, (p) => p.method)) {
    const attributes = { 'http.request.method': method, 'url.scheme': 'http' };
    const points = pointsWhere(during, attributes);
    if (points.length === 0) fail(`${ACTIVE} has no point for the ${method} ${inFlight.length === 1 ? 'request' : 'requests'} in flight: ${whyMissing(during, attributes)}`);
    verify(points.reduce((sum, p) => sum + p.value, 0), `${ACTIVE} while ${inFlight.map(describe).join(', ')} ${inFlight.length === 1 ? 'is' : 'are'} in flight (${describeAttributes(attributes)})`).is(inFlight.length);
  }
  for (const gate of random.shuffle(gates)) gate.resolve();
  await Promise.all(answers);
  // Requests that never reach the store are in flight too, for a moment.
  await sendAll(url, store, [request('create', 'invalid', 0), request('unmatched', 'unmatched', 0)]);
  const after = (await meters.collect()).upDownCounter(ACTIVE, ACTIVE_CONCEPT);
  const stuck = after.points.filter((p) => p.value !== 0);
  if (stuck.length > 0) {
    const failed = held.filter((p) => p.outcome === 'fails').length;
    const leaked = stuck.reduce((sum, p) => sum + p.value, 0);
    const why =
      stuck.some((p) => p.value < 0)
        ? 'the -1 must carry the same attributes as the +1, or neither series ever comes back to 0'
        : leaked === failed
          ? `the ${failed} ${failed === 1 ? 'request' : 'requests'} the store failed ${failed === 1 ? 'was' : 'were'} never taken out: subtract in a finally, so it happens however serve() ends`
          : 'every +1 needs its -1, however serve() ends';
    fail(`every request was answered, yet ${ACTIVE} is ${stuck.map((p) => `${p.value} for ${describeAttributes(p.attributes)}`).join(' and ')}: ${why}`);
  }
  verify(after.points.length, `the series of ${ACTIVE}`).isAtLeast(1);
});

// ---------------------------------------------------------------------------------------------
// Cardinality
// ---------------------------------------------------------------------------------------------

it('keeps raw paths out of every metric: ids never become attribute values, http.route is only ever a route template, and a path no route matched has none', async () => {
  const { url, store } = await start();
  const plan = random.shuffle([
    ...Array.from({ length: random.int(3, 6) }, () => request('find', random.pick(['ok', 'missing', 'invalid'] as const), random.int(1, 300))),
    ...Array.from({ length: random.int(2, 4) }, () => request('customer', 'ok', random.int(1, 300))),
    ...Array.from({ length: random.int(2, 4) }, () => request('unmatched', 'unmatched', 0)),
  ]);
  await sendAll(url, store, plan);
  const now = await meters.collect();
  const all = [now.histogram(DURATION, DURATION_CONCEPT), now.counter(REQUESTS, REQUESTS_CONCEPT), now.upDownCounter(ACTIVE, ACTIVE_CONCEPT)];
  const raw = plan.flatMap((p) => p.raw.map((word) => ({ word, planned: p })));
  for (const { metric, key, value, point } of attributeValues(all)) {
    const found = typeof value === 'string' ? raw.find(({ word }) => value.includes(word)) : undefined;
    if (found) {
      const perRequest = plan.filter((p) => p.route === found.planned.route).length;
      fail(
        `${metric} has ${key}=${show(value)} (in ${describeAttributes(point)}), the raw path of ${describe(found.planned)}. ` +
          `Every id makes a new time series: these ${perRequest} requests made ${perRequest} series where there should be one, a cardinality ` +
          'that grows with the traffic, that the SDK keeps in memory and a backend bills for, and in which no series says how the route behaves. ' +
          `Metrics carry the route template, ${found.planned.route === undefined ? 'or no http.route at all when none matched' : `http.route=${show(found.planned.route)}`}; the path belongs on the span (url.path)`,
      );
    }
    if (key === 'http.route') {
      expectThat(
        (ROUTES as readonly AttributeValue[]).includes(value),
        `http.route on ${metric} is a route template (${ROUTES.join(', ')}), and a request no route matched has no http.route`,
        `${describeAttributes(point)} has http.route=${show(value)}`,
      );
    }
  }
  const duration = all[0] as (typeof all)[0];
  for (const [series, requests] of groupBy(plan, durationSeries)) {
    const attributes = durationAttributes(requests[0] as Planned);
    const points = pointsWhere(duration, attributes);
    verify(points.length, `the series of ${DURATION} for the ${requestsText(requests.length)} ${series} (${requests.map((p) => p.path).join(', ')})`).hasCount(1, 'series|series');
  }
});

// ---------------------------------------------------------------------------------------------
// Beside the traces
// ---------------------------------------------------------------------------------------------

it('metrics and traces tell the same story: one SERVER span per request, and as many per route and status as the histogram counts', async () => {
  const { url, store } = await start();
  const plan = random.shuffle([...everyKind(), ...Array.from({ length: random.int(3, 8) }, randomRequest)]);
  await sendAll(url, store, plan);
  await otel.settled();
  expectAllEnded(otel, 'every request\'s span ends');
  const duration = (await meters.collect()).histogram(DURATION, DURATION_CONCEPT);
  const servers = otel.spans().filter((span) => span.kind === 'server');
  verify(servers, 'the SERVER spans, one per request').hasCount(plan.length, 'SERVER span');
  for (const [series, requests] of groupBy(plan, durationSeries)) {
    const first = requests[0] as Planned;
    const spans = servers.filter((span) => sameRequest(span, first));
    verify(spans, `the SERVER spans named ${show(first.route ? `${first.method} ${first.route}` : first.method)} with http.response.status_code=${first.status}`).hasCount(requests.length, 'span');
    const totals = histogramTotals(duration, durationAttributes(first));
    verify(totals.count, `the count of ${DURATION} for the requests ${series}, beside their ${spans.length === 1 ? 'SERVER span' : `${spans.length} SERVER spans`}`).is(spans.length);
  }
});

function sameRequest(span: SpanNode, planned: Planned): boolean {
  const name = planned.route ? `${planned.method} ${planned.route}` : planned.method;
  return span.name === name && span.attributes['http.response.status_code'] === planned.status;
}

function withoutAbsent(attributes: Record<string, unknown>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(attributes).filter(([, v]) => typeof v !== 'object' || v === null || Array.isArray(v))) as Record<string, AttributeValue>;
}
