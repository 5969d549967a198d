import { it } from 'vitest';
import { absent, expectAllEnded, expectThat, expectTrace, present, random, useTracing, verify, type SpanNode, type SpanShape, type TraceTree } from '#checks';
import { deferred } from '#kit';
import { createBff } from '#target/04-edge/02-bff/bff.ts';
import { BARRIER_MS, Bff, distinctItems, eventually, expectAnswer, expectedMobile, expectedWeb, randomWorld, type Backend, type Reply, type World } from './02-bff.rig.ts';

const otel = useTracing();
const target = { createBff, otel };

const start = (world: World = randomWorld()): Promise<Bff> => Bff.start(target, world);
const WEB = '/web/home';
const MOBILE = '/mobile/home';
const CALLS = ['GET /profiles/:id', 'GET /orders', 'GET /recommendations/:id'] as const;

/** Resolves once `backend` received `count` requests, or the answer came back first (then the checks that follow say what was wrong). */
async function calledOrAnswered(backend: Backend, count: number, answer: Promise<Reply>): Promise<void> {
  let answered = false;
  void answer.then(
    () => (answered = true),
    () => (answered = true),
  );
  await eventually(() => answered || backend.service.requests.length >= count, 1000);
}

const lineCount = (world: World): number => world.orders.reduce((sum, order) => sum + order.lines.length, 0);

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('web: answers the whole profile, every order with its lines\' items, and every recommendation, not degraded', async () => {
  const bff = await start();
  const reply = await bff.get(WEB);
  verify(reply.status, `the status of GET ${WEB}`).is(200);
  expectAnswer(reply.body, expectedWeb(bff.world), 'the web answer');
});

it('mobile: a smaller shape, the 3 newest orders without their lines, the first 3 recommendations, and no item lookups', async () => {
  const bff = await start(randomWorld({ orders: [4, 6], recommendations: [4, 7] }));
  const reply = await bff.get(MOBILE);
  verify(reply.status, `the status of GET ${MOBILE}`).is(200);
  expectAnswer(reply.body, expectedMobile(bff.world), `the mobile answer (the user has ${bff.world.orders.length} orders and ${bff.world.recommendations.length} recommendations)`);
  verify(bff.orders.requestsTo('/items').length, 'calls to GET /items for the mobile answer, which shows no item').is(0);
});

for (const path of [WEB, MOBILE]) {
  it(`${path === WEB ? 'web' : 'mobile'}: calls the three backends at once, each call starting before any is answered`, async () => {
    const bff = await start();
    // Each backend holds its answer until all three were called: calls made one after the other never get there.
    const barrier = bff.barrier();
    const reply = await bff.get(path);
    verify(reply.status, `the status of GET ${path}`).is(200);
    expectThat(
      !barrier.broken && barrier.arrived.length === 3,
      `GET ${path} calls profile, orders and recommendations together, each before any of them has answered`,
      `only ${barrier.arrivedInTime.join(' and ') || 'no backend'} had been called after ${BARRIER_MS} ms of waiting for their answers: the calls are made one after the other`,
    );
  });
}

it('degrades when the recommendations fail: 200 without recommendations and degraded: true, web and mobile alike', async () => {
  const bff = await start(randomWorld({ orders: [2, 5], recommendations: [1, 6] }));
  const status = random.pick([500, 502, 503]);
  bff.recommendations.mode = status;
  const web = await bff.get(WEB);
  verify(web.status, `the status of GET ${WEB} when recommendations answer ${status}`).is(200);
  expectAnswer(web.body, expectedWeb(bff.world, true), `the web answer when recommendations answer ${status}`);
  await bff.recommendations.service.close();
  const mobile = await bff.get(MOBILE);
  verify(mobile.status, `the status of GET ${MOBILE} when recommendations refuse connections`).is(200);
  expectAnswer(mobile.body, expectedMobile(bff.world, true), `the mobile answer when recommendations refuse connections`);
});

it('waits for the recommendations up to their budget on the clock, then answers without them and cuts the call off', async () => {
  const bff = await start();
  const { budgetMs } = bff;
  // Answered 1 ms before the budget: in time.
  const inTime = deferred<void>();
  bff.recommendations.gate = () => inTime.promise;
  const first = bff.send(WEB);
  await calledOrAnswered(bff.recommendations, 1, first);
  await bff.clock.advance(budgetMs - 1);
  inTime.resolve();
  const answered = await first;
  verify(answered.status, `the status of GET ${WEB}`).is(200);
  expectAnswer(answered.body, expectedWeb(bff.world), `the web answer when the recommendations answer ${budgetMs - 1} ms after the call (the budget is ${budgetMs} ms)`);

  // Never answered: once the budget is over, the answer goes without them, and the call is cut off.
  bff.recommendations.gate = () => new Promise<void>(() => undefined);
  const path = random.pick([WEB, MOBILE]);
  const second = bff.send(path, `the clock was moved ${budgetMs} ms on, the whole budget, and the BFF still waited: is the budget timed on config.clock?`);
  await calledOrAnswered(bff.recommendations, 2, second);
  await bff.clock.advance(budgetMs);
  const late = await second;
  expectAnswer(
    late.body,
    path === WEB ? expectedWeb(bff.world, true) : expectedMobile(bff.world, true),
    `the answer to GET ${path} when the recommendations have not answered ${budgetMs} ms (the budget) after the call`,
  );
  const held = bff.recommendations.service.requests[1];
  await eventually(() => held?.outcome === 'aborted', 500);
  verify(
    held?.outcome ?? 'never made',
    'the recommendations call that missed its budget, 500 ms after the answer ("pending" means still open: the BFF must abort it, nobody will read its answer)',
  ).is('aborted');
});

it('fails with 502 when a required backend fails: there is no page without the profile or the orders', async () => {
  const bff = await start();
  const [first, second] = random.shuffle([WEB, MOBILE]) as [string, string];
  bff.profile.mode = random.pick([500, 503]);
  const noProfile = await bff.get(first);
  verify(noProfile.status, `the status of GET ${first} when profile answers ${bff.profile.mode}`).is(502);
  bff.profile.mode = 'ok';
  bff.orders.mode = random.pick([500, 503]);
  const noOrders = await bff.get(second);
  verify(noOrders.status, `the status of GET ${second} when orders answers ${bff.orders.mode}`).is(502);
});

it('looks the items of a web page up in one call: each different item once, matched to its lines whatever the order of the answer', async () => {
  const bff = await start(randomWorld({ orders: [3, 5] }));
  const { world } = bff;
  const reply = await bff.get(WEB);
  verify(reply.status, `the status of GET ${WEB}`).is(200);
  const distinct = distinctItems(world);
  const calls = bff.orders.requestsTo('/items');
  verify(calls.length, `calls to GET /items for one web page whose ${world.orders.length} orders have ${lineCount(world)} lines naming ${distinct.length} different items`).is(1);
  const asked = new URLSearchParams(calls[0]?.url.split('?')[1] ?? '').get('ids')?.split(',') ?? [];
  verify([...asked].sort(), 'the item ids the call asked for, sorted: every item of the orders, each once').equals([...distinct].sort());
  expectAnswer(reply.body, expectedWeb(world), 'the web answer, each line with its own item\'s title and price (the items endpoint answers in its own order)');
});

it('makes a new item loader for every request: the next page looks its items up again, and sees what changed', async () => {
  const bff = await start();
  const { world } = bff;
  const first = await bff.get(WEB);
  verify(first.status, `the status of GET ${WEB}`).is(200);
  expectAnswer(first.body, expectedWeb(world), 'the first web answer');
  for (const item of world.items.values()) {
    item.title = `${item.title} ${random.word(3)}`;
    item.priceCents += random.int(1, 99);
  }
  const second = await bff.get(WEB);
  verify(bff.orders.requestsTo('/items').length, 'calls to GET /items for two web pages, one after the other (a loader\'s cache lives as long as its request)').is(2);
  expectAnswer(second.body, expectedWeb(world), 'the second web answer, after the items changed their titles and prices');
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

function serverShape(route: string, status: number, degraded: boolean | undefined, children: SpanShape[]): SpanShape {
  const error = status >= 500;
  return {
    name: `GET ${route}`,
    kind: 'server',
    status: error ? 'error' : 'unset',
    attributes: {
      'http.request.method': 'GET',
      'http.route': route,
      'http.response.status_code': status,
      'error.type': error ? present() : absent(),
      ...(degraded === undefined ? {} : { 'app.bff.degraded': degraded }),
    },
    children,
  };
}

const call = (name: string, extra: Partial<SpanShape> = {}): SpanShape => ({ name, kind: 'client', ...extra });

/** The backend calls under the SERVER span, and the pairs of them that do not overlap in time. */
function sequentialPairs(trace: TraceTree): string[] {
  const root = trace.roots[0];
  const calls = (root?.children ?? []).filter((span: SpanNode) => span.kind === 'client' && (CALLS as readonly string[]).includes(span.name));
  const pairs: string[] = [];
  for (const [i, a] of calls.entries()) {
    for (const b of calls.slice(i + 1)) {
      const overlap = a.start < (b.end ?? Infinity) && b.start < (a.end ?? Infinity);
      if (!overlap) pairs.push(`"${a.name}" (${a.start.toFixed(1)}–${(a.end ?? 0).toFixed(1)} ms) and "${b.name}" (${b.start.toFixed(1)}–${(b.end ?? 0).toFixed(1)} ms)`);
    }
  }
  return pairs;
}

function expectSideBySide(trace: TraceTree, what: string): void {
  const pairs = sequentialPairs(trace);
  expectThat(
    pairs.length === 0,
    `${what}: the three CLIENT spans run side by side, each starting before the others end`,
    `${pairs.join('; ')} do not overlap: one started after the other ended`,
  );
}

it('traces a web page: three CLIENT spans side by side under the SERVER span, and one batch span for the items', async () => {
  const bff = await start();
  await bff.get(WEB);
  const trace = await bff.lastTrace('a web page');
  expectAllEnded(otel, 'every span ends, the SERVER span included');
  expectTrace(
    [trace],
    serverShape(WEB, 200, false, [
      ...CALLS.map((name) => call(name)),
      { name: 'batch items', kind: 'internal', attributes: { 'app.batch.size': distinctItems(bff.world).length }, children: [call('GET /items')] },
    ]),
    'the SERVER span parents a CLIENT span per backend and one "batch items" span, whose app.batch.size counts the different items ' +
      'it looked up with one GET /items call; the answer is whole, so app.bff.degraded=false',
  );
  expectSideBySide(trace, 'a web page');
  verify(trace.spans.filter((s) => s.name === 'batch items').length, `"batch items" spans in the trace of one web page (its ${lineCount(bff.world)} lookups, one batch)`).is(1);
  verify(trace.spans.filter((s) => s.name === 'GET /items').length, '"GET /items" spans in the trace of one web page').is(1);
});

it('traces a mobile answer: the same three CLIENT spans side by side, and no item lookup', async () => {
  const bff = await start();
  await bff.get(MOBILE);
  const trace = await bff.lastTrace('a mobile answer');
  expectTrace([trace], serverShape(MOBILE, 200, false, CALLS.map((name) => call(name))), 'the SERVER span parents a CLIENT span per backend');
  expectSideBySide(trace, 'a mobile answer');
  verify(
    trace.spans.filter((s) => s.name === 'batch items' || s.name === 'GET /items').map((s) => s.name),
    'item spans in the trace of a mobile answer, which shows no item',
  ).equals([]);
});

it('traces a degraded answer as a success: the SERVER span is UNSET with app.bff.degraded=true; the recommendations call is ERROR (timeout when cut off)', async () => {
  const bff = await start();
  const status = random.pick([500, 503]);
  bff.recommendations.mode = status;
  const path = random.pick([WEB, MOBILE]);
  await bff.get(path);
  const failed = await bff.lastTrace(`an answer while recommendations answer ${status}`);
  expectTrace(
    [failed],
    serverShape(path, 200, true, [call('GET /recommendations/:id', { status: 'error' })]),
    `recommendations answered ${status}: its CLIENT span is ERROR; the BFF answered what it could, on purpose, so the SERVER span is not an error: app.bff.degraded=true says it`,
  );

  bff.recommendations.mode = 'ok';
  bff.recommendations.gate = () => new Promise<void>(() => undefined);
  const other = path === WEB ? MOBILE : WEB;
  const answer = bff.send(other, `the clock was moved ${bff.budgetMs} ms on, the whole budget, and the BFF still waited: is the budget timed on config.clock?`);
  await calledOrAnswered(bff.recommendations, 2, answer);
  await bff.clock.advance(bff.budgetMs);
  await answer;
  const late = await bff.lastTrace('an answer after the recommendations budget was over');
  expectAllEnded(otel, 'every span ends, the recommendations call cut off at the budget included');
  expectTrace(
    [late],
    serverShape(other, 200, true, [call('GET /recommendations/:id', { status: 'error', attributes: { 'error.type': 'timeout' } })]),
    'the recommendations call was cut off at its budget: its CLIENT span is ERROR with error.type="timeout", and the SERVER span is a degraded success',
  );
});

it('traces a failed required backend: the SERVER span answers 502 and is ERROR with error.type', async () => {
  const bff = await start();
  bff.orders.mode = 503;
  const path = random.pick([WEB, MOBILE]);
  await bff.get(path);
  const trace = await bff.lastTrace('an answer while orders fails');
  expectTrace(
    [trace],
    serverShape(path, 502, undefined, [call('GET /orders', { status: 'error' })]),
    'without its orders the page cannot be built: the BFF failed its client, so its SERVER span is ERROR with an error.type',
  );
});
