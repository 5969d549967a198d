import { isDeepStrictEqual } from 'node:util';
import { it } from 'vitest';
import fc from 'fast-check';
import {
  afterCheck,
  closeAfter,
  expectAllEnded,
  expectThat,
  expectTrace,
  fail,
  holds,
  random,
  show,
  useTracing,
  verify,
  where,
  type SpanShape,
  type TraceTree,
} from '#checks';
import {
  deferred,
  FakeClock,
  httpRequest,
  startFakeService,
  startHttpServer,
  type FakeService,
  type FakeServiceReply,
  type FakeServiceRequest,
  type Deferred,
  type HttpResponse,
} from '#kit';
import { inRollout } from '#target/04-edge/03-strangler-fig/rollout.ts';
import { differingFields } from '#target/04-edge/03-strangler-fig/compare.ts';
import { createFacade } from '#target/04-edge/03-strangler-fig/facade.ts';
import type { RouteRule } from '#target/04-edge/03-strangler-fig/routes.ts';

const otel = useTracing();

const USER_HEADER = 'x-user-id';
const MISMATCH = 'app.migration.mismatch';
const MISMATCH_FIELDS = 'app.migration.mismatch.fields';
/** Legacy answers at once: an answer that takes longer than this waited for something else. */
const ANSWER_MS = 1000;

type SideName = 'legacy' | 'modern';
type Script = (request: FakeServiceRequest) => FakeServiceReply | Promise<FakeServiceReply>;

interface Upstream {
  service: FakeService;
  /** What each request was answered, by request index. */
  replies: FakeServiceReply[];
}

/** Answers that say who answered, with a status of their own, so a relayed answer can be recognised. */
function answersAs(side: SideName): Script {
  return (request) => ({ status: random.pick([200, 201, 404]), body: { served: side, url: request.url, token: random.id() } });
}

async function upstream(side: SideName, script: Script = answersAs(side)): Promise<Upstream> {
  const replies: FakeServiceReply[] = [];
  const service = await startFakeService({
    name: side,
    reply: async (request) => {
      const reply = await script(request);
      replies[request.index] = reply;
      return reply;
    },
  });
  closeAfter(service);
  return { service, replies };
}

interface Rig {
  url: string;
  legacy: Upstream;
  modern: Upstream;
  clock: FakeClock;
  shadowTimeoutMs: number;
  routes: RouteRule[];
}

async function startFacade(routes: RouteRule[], legacy: Upstream, modern: Upstream): Promise<Rig> {
  const clock = new FakeClock(random.int(0, 1_000_000));
  // Long enough that no real timer could fire it during a check: only the injected clock can.
  const shadowTimeoutMs = random.int(2_000, 20_000);
  const handler = createFacade({ legacyUrl: legacy.service.url, modernUrl: modern.service.url, routes, shadowTimeoutMs, clock });
  const server = closeAfter(await startHttpServer(handler));
  return { url: server.url, legacy, modern, clock, shadowTimeoutMs, routes };
}

async function rig(routes: RouteRule[], scripts: { legacy?: Script; modern?: Script } = {}): Promise<Rig> {
  return startFacade(routes, await upstream('legacy', scripts.legacy), await upstream('modern', scripts.modern));
}

async function get(rig: Rig, url: string, user?: string): Promise<HttpResponse> {
  try {
    return await httpRequest(`${rig.url}${url}`, { headers: user === undefined ? {} : { [USER_HEADER]: user }, timeoutMs: ANSWER_MS });
  } catch (error) {
    fail(`GET ${url} through the facade got no answer within ${ANSWER_MS} ms, though legacy answers at once (${show(error)})`);
  }
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** What the facade answered, next to what the side answered: they must be the same. */
function expectRelayed(answer: HttpResponse, side: Upstream, index: number, what: string): void {
  const reply = side.replies[index];
  verify({ status: answer.status, body: parsed(answer.body) }, what).equals({ status: reply?.status ?? 200, body: reply?.body });
}

async function until(condition: () => boolean, ms = 1000): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!condition() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
  return condition();
}

/**
 * Waits until modern has received `count` requests. Gives up early once no span has been open for a
 * while: a shadow call in flight keeps its span open, so a quiet trace means none is coming.
 */
async function modernCalled(rig: Rig, count: number): Promise<boolean> {
  const deadline = performance.now() + 1000;
  let quietSince: number | undefined;
  while (rig.modern.service.requests.length < count && performance.now() < deadline) {
    const now = performance.now();
    if (otel.openSpans().length > 0) quietSince = undefined;
    else if (quietSince === undefined) quietSince = now;
    else if (now - quietSince > 50) break;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return rig.modern.service.requests.length >= count;
}

/** How `request` ended, or "pending" if it is still in flight after `ms` real milliseconds. */
async function outcomeWithin(request: FakeServiceRequest | undefined, ms = 1000): Promise<string> {
  if (request === undefined) return 'never made';
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(resolve, ms, request.outcome);
  });
  try {
    return await Promise.race([request.done, late]);
  } finally {
    clearTimeout(timer);
  }
}

function segment(): string {
  return random.word(random.int(4, 7));
}

/** `count` different path segments. */
function segments(count: number): string[] {
  const found = new Set<string>();
  while (found.size < count) found.add(segment());
  return [...found];
}

function userKeys(count: number): string[] {
  const start = random.int(1, 1_000_000);
  return Array.from({ length: count }, (_, i) => {
    switch (i % 3) {
      case 0:
        return `user-${start + i}`;
      case 1:
        return random.id('u_');
      default:
        return `${random.word(6)}.${random.word(4)}@example.com`;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The rollout
// ---------------------------------------------------------------------------------------------

it('inRollout: the same key always gets the same answer, and raising the percentage never moves a key back to legacy', () => {
  const percents = [0, ...random.sample([5, 10, 20, 25, 30, 40, 50, 60, 75, 80, 90, 95], 4).sort((a, b) => a - b), 100];
  for (const key of userKeys(150)) {
    const answers = percents.map((percent) => inRollout(key, percent));
    for (const [i, percent] of percents.entries()) {
      verify(inRollout(key, percent), `inRollout(${show(key)}, ${percent}), asked again: the same user lands on the same side every time`).is(answers[i] as boolean);
    }
    const back = answers.findIndex((inside, i) => i > 0 && answers[i - 1] === true && !inside);
    expectThat(
      back < 0,
      `raising the percentage only moves users from legacy to modern: ${show(key)} is in at ${percents[back - 1]} %, so it stays in at ${percents[back]} %`,
      `its answers at ${percents.join(', ')} % are ${show(answers)}`,
    );
  }
});

it('inRollout: over many keys the share on modern is the percentage; 0 % is nobody and 100 % everybody', () => {
  const keys = userKeys(4000);
  for (const percent of [0, 100]) {
    const edge = keys.slice(0, 2000);
    verify(edge.filter((key) => inRollout(key, percent)).length, `how many of ${edge.length} users inRollout puts on modern at ${percent} %`).is(percent === 0 ? 0 : edge.length);
  }
  for (const percent of [50, random.int(1, 20), random.int(80, 99)]) {
    const share = (100 * keys.filter((key) => inRollout(key, percent)).length) / keys.length;
    verify(Number(share.toFixed(2)), `the share of ${keys.length} users (ids, numbered users, emails) that inRollout puts on modern at ${percent} %, in %`).isCloseTo(percent, 4);
  }
});

// ---------------------------------------------------------------------------------------------
// Comparing answers
// ---------------------------------------------------------------------------------------------

const FIELDS = ['id', 'status', 'total', 'currency', 'lines', 'customer', 'notes', 'createdAt'];
type Value = null | boolean | number | string | Value[] | { [key: string]: Value };
type Body = { [key: string]: Value };
const scalar = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('open', 'paid', '10', 'EUR'), fc.boolean(), fc.constant(null));
const value: fc.Arbitrary<Value> = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.record({ x: scalar, y: scalar, z: fc.array(scalar, { maxLength: 2 }) }));
const edit = fc.record({ field: fc.constantFrom(...FIELDS), how: fc.constantFrom('change', 'drop', 'nested', 'reorder') });

/** The same data with every object's keys in reverse order: equal as data. */
function reordered<T extends Value>(data: T): T {
  if (Array.isArray(data)) return data.map(reordered) as T;
  if (data !== null && typeof data === 'object') return Object.fromEntries(Object.entries(data).reverse().map(([k, v]) => [k, reordered(v)])) as T;
  return data;
}

const answerPair = fc.record({ legacy: fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 6 }), edits: fc.array(edit, { maxLength: 4 }) }).map(({ legacy: generated, edits }) => {
  // Through JSON, as answers arrive: plain objects only.
  const legacy = JSON.parse(JSON.stringify(generated)) as Body;
  const modern: Body = structuredClone(legacy);
  for (const { field, how } of edits) {
    const current = modern[field];
    if (how === 'drop') delete modern[field];
    else if (how === 'change') modern[field] = { was: current ?? 'missing' };
    else if (how === 'nested' && current !== null && typeof current === 'object' && !Array.isArray(current)) modern[field] = { ...current, x: 'changed' };
    else if (how === 'reorder') modern[field] = reordered(current ?? null);
  }
  return { legacy, modern: reordered(modern) };
});

/** The README's rule, to know the answer: top-level fields whose values differ as data, sorted. */
function expectedFields(legacy: Body, modern: Body): string[] {
  const fields = new Set([...Object.keys(legacy), ...Object.keys(modern)]);
  return [...fields].filter((f) => !(Object.hasOwn(legacy, f) && Object.hasOwn(modern, f) && isDeepStrictEqual(legacy[f], modern[f]))).sort();
}

it('differingFields names the top-level fields that differ, sorted: as data, whatever the order of the keys', async () => {
  await holds(
    answerPair,
    ({ legacy, modern }) => {
      verify(differingFields(structuredClone(legacy), structuredClone(modern)), `differingFields(${show(legacy)}, ${show(modern)})`).equals(expectedFields(legacy, modern));
    },
    {
      examples: [
        // The edges, every run: key order (at the top and inside), equal nested data, a field on one side only,
        // null against missing, array order, a number against a string, several fields at once.
        { legacy: { id: 7, customer: { id: 'c-1', name: 'Ada' } }, modern: { customer: { name: 'Ada', id: 'c-1' }, id: 7 } },
        { legacy: { lines: [{ sku: 'A', quantity: 1 }] }, modern: { lines: [{ quantity: 1, sku: 'A' }] } },
        { legacy: { id: 7 }, modern: { id: 7, currency: 'EUR' } },
        { legacy: { id: 7, notes: 'fragile' }, modern: { id: 7 } },
        { legacy: { notes: null }, modern: {} },
        { legacy: { lines: [1, 2] }, modern: { lines: [2, 1] } },
        { legacy: { total: 10 }, modern: { total: '10' } },
        { legacy: { total: 1250, status: 'paid', id: 7 }, modern: { total: 1300, status: 'open', id: 7 } },
      ],
      runs: 60,
      describe: ({ legacy, modern }) => `legacy answered ${show(legacy)} and modern ${show(modern)}`,
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------

it('routes each path by the longest matching prefix, by whole segments; a path no rule names stays on legacy', async () => {
  const [a, b, c, other] = segments(4);
  const general: RouteRule = { prefix: `/${b}`, migration: { mode: 'modern' } };
  const specific: RouteRule = { prefix: `/${b}/${c}`, migration: { mode: 'legacy' } };
  const elsewhere: RouteRule = { prefix: `/${a}`, migration: { mode: 'legacy' } };
  const legacy = await upstream('legacy');
  const modern = await upstream('modern');
  // Both orders of the two rules that overlap, every run: the table's order must not matter.
  const tables = [
    [general, specific],
    [specific, general],
  ].map((pair) => random.shuffle([elsewhere, pair[0] as RouteRule]).concat(pair.slice(1)));
  for (const [n, routes] of tables.entries()) {
    const facade = await startFacade(routes, legacy, modern);
    const id = random.int(1, 9999);
    const overlap: [string, SideName, string] = [`/${b}/${c}/${id}`, 'legacy', `two rules match, /${b} and /${b}/${c}: the longest wins, whatever the order of the table`];
    const cases: [string, SideName, string][] =
      n === 0
        ? random.shuffle([
            [`/${a}/${id}`, 'legacy', `its rule, /${a}, is on legacy`],
            [`/${b}/${id}?expand=${random.word(5)}`, 'modern', `its rule, /${b}, has moved to modern (and the query string goes along)`],
            [`/${b}`, 'modern', `the prefix /${b} itself is under its rule`],
            overlap,
            [`/${b}-archive/${id}`, 'legacy', `a prefix matches whole segments: /${b}-archive is not under /${b}, and no rule names it`],
            [`/${other}/${id}`, 'legacy', 'no rule names it'],
          ])
        : [overlap];
    const table = routes.map((r) => `${r.prefix} → ${r.migration.mode}`).join(', ');
    for (const [url, side, why] of cases) {
      const target = side === 'legacy' ? legacy : modern;
      const away = side === 'legacy' ? modern : legacy;
      const before = { target: target.service.requests.length, away: away.service.requests.length };
      const answer = await get(facade, url);
      const asked = target.service.requests.slice(before.target).map((r) => r.url);
      verify(asked, `what ${side} was asked for GET ${url} (routing table, in this order: ${table}): ${why}`).equals([url]);
      verify(away.service.requests.length - before.away, `the requests ${side === 'legacy' ? 'modern' : 'legacy'} got for GET ${url}, which goes to ${side} only`).hasCount(0, 'request');
      expectRelayed(answer, target, before.target, `the facade's answer to GET ${url}: the status and body ${side} answered`);
    }
  }
});

it('a rollout sends the users inRollout picks to modern, each user always to the same side, and a request with no user to legacy', async () => {
  const percent = random.int(20, 80);
  const prefix = `/${segment()}`;
  const routes: RouteRule[] = [{ prefix, migration: { mode: 'rollout', percent } }];
  const legacy = await upstream('legacy');
  const modern = await upstream('modern');
  // Two instances of the facade in front of the same services, as in production.
  const facades = [await startFacade(routes, legacy, modern), await startFacade(routes, legacy, modern)];
  const candidates = userKeys(400);
  const inside = candidates.filter((key) => inRollout(key, percent)).slice(0, 2);
  const outside = candidates.filter((key) => !inRollout(key, percent)).slice(0, 2);
  expectThat(inside.length === 2 && outside.length === 2, `at ${percent} %, inRollout puts some of 400 users on modern and leaves others on legacy`, `it put ${candidates.filter((k) => inRollout(k, percent)).length} on modern`);
  const sideOf = (answer: HttpResponse): unknown => (parsed(answer.body) as { served?: unknown }).served;
  for (const user of random.shuffle([...inside, ...outside])) {
    const expected = inside.includes(user) ? 'modern' : 'legacy';
    const sides = [];
    for (const facade of facades) sides.push(sideOf(await get(facade, `${prefix}/${random.int(1, 999)}`, user)));
    verify(sides, `the sides that answered user ${show(user)}, once through each of two instances of the facade (a ${percent} % rollout, and inRollout(${show(user)}, ${percent}) is ${expected === 'modern'})`).equals([expected, expected]);
  }
  const anonymous = await get(facades[0] as Rig, `${prefix}/${random.int(1, 999)}`);
  verify(sideOf(anonymous), `the side that answered a request with no ${USER_HEADER} header: with no key to hash, it stays on legacy`).is('legacy');
});

// ---------------------------------------------------------------------------------------------
// Shadow mode
// ---------------------------------------------------------------------------------------------

const shadowRoutes = (prefix: string): RouteRule[] => [{ prefix, migration: { mode: 'shadow' } }];

it('shadow mode answers with legacy\'s answer, whatever modern answers, and asks both the same request once', async () => {
  const prefix = `/${segment()}`;
  const modernAnswers: FakeServiceReply[] = random.shuffle([
    { status: 200, body: { served: 'modern', total: random.int(1, 99) } },
    { status: 500, body: 'modern crashed' },
    { status: 200, body: { served: 'modern' } },
  ]);
  const legacyAnswers: FakeServiceReply[] = [
    { status: 200, body: { served: 'legacy', total: random.int(100, 999) } },
    { status: 200, body: { served: 'legacy', token: random.id() } },
    { status: 404, body: { error: 'no such order' } },
  ];
  const facade = await rig(shadowRoutes(prefix), {
    legacy: (request) => legacyAnswers[request.index] ?? { status: 200 },
    modern: (request) => modernAnswers[request.index] ?? { status: 200 },
  });
  for (let i = 0; i < legacyAnswers.length; i++) {
    const url = `${prefix}/${random.int(1, 9999)}?v=${i}`;
    const answer = await get(facade, url);
    const modern = modernAnswers[i] as FakeServiceReply;
    expectRelayed(answer, facade.legacy, i, `the answer to GET ${url} in shadow mode, where legacy answered ${show(legacyAnswers[i]?.status)} and modern ${show(modern.status)}: legacy's, as it is`);
    await modernCalled(facade, i + 1);
    verify(facade.legacy.service.requests.slice(i).map((r) => r.url), `what legacy was asked for GET ${url}`).equals([url]);
    verify(facade.modern.service.requests.slice(i).map((r) => r.url), `what modern was asked, in shadow, for GET ${url}: the same request`).equals([url]);
  }
});

it('the answer never waits for the shadow call, and a shadow call still running after shadowTimeoutMs is cut off, not a millisecond before', async () => {
  const prefix = `/${segment()}`;
  const held = deferred<FakeServiceReply>();
  const facade = await rig(shadowRoutes(prefix), { modern: () => held.promise });
  afterCheckRelease(held);
  const url = `${prefix}/${random.int(1, 9999)}`;
  const answer = await get(facade, url);
  expectRelayed(answer, facade.legacy, 0, `the answer to GET ${url} while modern has not answered: legacy's, at once`);
  expectThat(await modernCalled(facade, 1), 'modern is called in shadow mode', 'it was never called');
  const shadowed = facade.modern.service.requests[0] as FakeServiceRequest;
  verify(shadowed.outcome, 'the shadow call once the answer has left: modern is still working on it').is('pending');
  await facade.clock.advance(facade.shadowTimeoutMs - 1);
  // Time for an abort to reach modern, if one was sent too early.
  verify(await outcomeWithin(shadowed, 50), `the shadow call ${facade.shadowTimeoutMs - 1} ms into its ${facade.shadowTimeoutMs} ms budget (on the clock the facade was given)`).is('pending');
  await facade.clock.advance(1);
  expectThat(
    (await outcomeWithin(shadowed)) === 'aborted',
    `at ${facade.shadowTimeoutMs} ms the facade cuts the shadow call off (abort it through its signal, on the clock it was given): modern sees the request abandoned`,
    `modern's request is ${shadowed.outcome}`,
  );
});

/** A held reply is released when the check ends, whatever happened. */
function afterCheckRelease(gate: Deferred<FakeServiceReply>): void {
  afterCheck(() => gate.resolve({ status: 200, body: {} }));
}

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

function serverShape(prefix: string, route: string, status: number, children: SpanShape[]): SpanShape {
  return {
    name: `GET ${prefix}/*`,
    kind: 'server',
    attributes: {
      'http.request.method': 'GET',
      'http.route': `${prefix}/*`,
      'url.path': where('the path asked for, without the query string', (v) => typeof v === 'string' && v.startsWith(prefix === '' ? '/' : prefix) && !v.includes('?')),
      'http.response.status_code': status,
      'app.migration.route': route,
    },
    children,
  };
}

function callShape(side: SideName, extra: SpanShape = { name: side }): SpanShape {
  return { ...extra, name: side, kind: 'client', children: [{ name: /.*/, kind: 'server', scope: `tracecraft.${side}` }] };
}

const notShadow = where('not true: this call serves the request', (v) => v !== true);

function spansIn(tree: TraceTree, name: string): number {
  return tree.spans.filter((s) => s.name === name).length;
}

function mismatchEvents(tree: TraceTree): { name: string; fields: unknown }[] {
  return tree.spans.flatMap((s) => s.events.filter((e) => e.name === MISMATCH).map((e) => ({ name: s.name, fields: e.attributes[MISMATCH_FIELDS] })));
}

it('each request is one trace: the facade\'s SERVER span says the route, and parents the CLIENT span of the side it called', async () => {
  const [a, b, other] = segments(3);
  const facade = await rig([
    { prefix: `/${a}`, migration: { mode: 'legacy' } },
    { prefix: `/${b}`, migration: { mode: 'modern' } },
  ]);
  for (const [prefix, url, side] of random.shuffle<[string, string, SideName]>([
    [`/${a}`, `/${a}/${random.int(1, 99)}`, 'legacy'],
    [`/${b}`, `/${b}/${random.int(1, 99)}`, 'modern'],
    ['', `/${other}/${random.int(1, 99)}`, 'legacy'],
  ])) {
    const answer = await get(facade, url);
    await otel.settled(1000);
    const tree = expectTrace(
      otel,
      serverShape(prefix, side, answer.status, [callShape(side, { name: side, attributes: { 'app.migration.shadow': notShadow } })]),
      `GET ${url} goes to ${side}: the facade's SERVER span "GET ${prefix}/*" carries app.migration.route="${side}" and parents the "${side}" CLIENT span, ` +
        `which parents ${side}'s own SERVER span (the trace context travels in the request)`,
    );
    const away = side === 'legacy' ? 'modern' : 'legacy';
    verify(spansIn(tree, away), `the "${away}" spans in the trace of GET ${url}, which only ${side} serves`).hasCount(0, `"${away}" span`);
    otel.reset();
  }
});

it('a rollout records the side it chose: app.migration.route is "legacy" or "modern", never "rollout"', async () => {
  const percent = random.int(30, 70);
  const prefix = `/${segment()}`;
  const facade = await rig([{ prefix, migration: { mode: 'rollout', percent } }]);
  const keys = userKeys(400);
  const chosen: [string | undefined, SideName][] = random.shuffle([
    [keys.find((k) => inRollout(k, percent)), 'modern'],
    [keys.find((k) => !inRollout(k, percent)), 'legacy'],
  ]);
  for (const [user, side] of chosen) {
    if (user === undefined) fail(`at ${percent} %, inRollout puts some users on modern and leaves others on legacy, but of 400 users none went to ${side}`);
    const url = `${prefix}/${random.int(1, 99)}`;
    const answer = await get(facade, url, user);
    await otel.settled(1000);
    expectTrace(
      otel,
      serverShape(prefix, side, answer.status, [callShape(side)]),
      `user ${show(user)} in a ${percent} % rollout goes to ${side}: the SERVER span says the side that served it, so an operator can compare the two`,
    );
    otel.reset();
  }
});

/** A body with a few fields, some nested. */
function randomBody(): Body {
  return {
    id: random.int(1, 99_999),
    status: random.pick(['open', 'paid', 'shipped']),
    total: random.int(100, 99_999),
    currency: random.pick(['EUR', 'USD', 'GBP']),
    customer: { id: random.id('c-'), tier: random.pick(['gold', 'silver']) },
    lines: [{ sku: `SKU-${random.int(1, 999)}`, quantity: random.int(1, 5) }],
  };
}

function shadowShape(prefix: string, status: number, modern: SpanShape): SpanShape {
  return serverShape(prefix, 'shadow', status, [
    callShape('legacy', { name: 'legacy', attributes: { 'app.migration.shadow': notShadow } }),
    { name: 'shadow', kind: 'internal', children: [callShape('modern', modern)] },
  ]);
}

const SHADOW_CONCEPT =
  'in shadow mode the SERVER span (app.migration.route="shadow") parents the "legacy" CLIENT span that served the answer and a "shadow" span, ' +
  'which parents the "modern" CLIENT span (app.migration.shadow=true): one trace, though the shadow may end after the answer left';

it('a shadow call whose answer is the same as data (keys in another order) is one trace, with no mismatch event', async () => {
  const prefix = `/${segment()}`;
  const body = randomBody();
  const facade = await rig(shadowRoutes(prefix), { legacy: () => ({ body }), modern: () => ({ body: reordered(body) }) });
  const url = `${prefix}/${random.int(1, 9999)}`;
  await get(facade, url);
  await modernCalled(facade, 1);
  await otel.settled(1000);
  expectAllEnded(otel, 'every span ends, the shadow\'s too');
  const tree = expectTrace(otel, shadowShape(prefix, 200, { name: 'modern', status: 'unset', attributes: { 'app.migration.shadow': true } }), SHADOW_CONCEPT);
  verify(mismatchEvents(tree), `the "${MISMATCH}" events after modern answered ${show(reordered(body))} and legacy ${show(body)}: the same data, so none`).equals([]);
});

it('a shadow answer that differs is a mismatch event naming the differing fields, even when it comes just before the cut-off', async () => {
  const prefix = `/${segment()}`;
  const body = randomBody();
  const changed = random.sample(['status', 'total', 'currency', 'customer', 'lines'], random.int(1, 3)).sort();
  const shadowed: Body = reordered(structuredClone(body));
  for (const field of changed) shadowed[field] = field === 'customer' ? { id: random.id('c-'), tier: 'gold' } : field === 'lines' ? [] : `changed-${random.word(3)}`;
  const held = deferred<FakeServiceReply>();
  afterCheckRelease(held);
  const facade = await rig(shadowRoutes(prefix), { legacy: () => ({ body }), modern: () => held.promise });
  const url = `${prefix}/${random.int(1, 9999)}`;
  const answer = await get(facade, url);
  expectRelayed(answer, facade.legacy, 0, `the answer to GET ${url} in shadow mode: legacy's`);
  await modernCalled(facade, 1);
  await facade.clock.advance(facade.shadowTimeoutMs - 1);
  held.resolve({ body: shadowed });
  await until(() => otel.openSpans().length === 0);
  await otel.settled(1000);
  const tree = expectTrace(
    otel,
    shadowShape(prefix, 200, { name: 'modern', status: 'unset', attributes: { 'app.migration.shadow': true } }),
    `${SHADOW_CONCEPT}; modern answered ${facade.shadowTimeoutMs - 1} ms into its ${facade.shadowTimeoutMs} ms budget, in time to be compared`,
  );
  verify(
    mismatchEvents(tree),
    `the "${MISMATCH}" events when legacy answered ${show(body)} and modern ${show(shadowed)}: one, on the "shadow" span, with ${MISMATCH_FIELDS} = the differing top-level fields, sorted`,
  ).equals([{ name: 'shadow', fields: changed }]);
});

it('a shadow call cut off at its budget ends ERROR with error.type "timeout", still in the request\'s trace, and compares nothing', async () => {
  const prefix = `/${segment()}`;
  const held = deferred<FakeServiceReply>();
  afterCheckRelease(held);
  const facade = await rig(shadowRoutes(prefix), { modern: () => held.promise });
  const url = `${prefix}/${random.int(1, 9999)}`;
  const answer = await get(facade, url);
  await modernCalled(facade, 1);
  await facade.clock.advance(facade.shadowTimeoutMs);
  await outcomeWithin(facade.modern.service.requests[0]);
  await otel.settled(1000);
  expectAllEnded(otel, 'every span ends once the shadow call is cut off');
  const tree = expectTrace(
    otel,
    shadowShape(prefix, answer.status, { name: 'modern', status: 'error', attributes: { 'app.migration.shadow': true, 'error.type': 'timeout' } }),
    `${SHADOW_CONCEPT}; cut off after ${facade.shadowTimeoutMs} ms, the "modern" CLIENT span is ERROR with error.type="timeout"`,
  );
  verify(mismatchEvents(tree), `the "${MISMATCH}" events when modern never answered: nothing to compare, so none`).equals([]);
});
