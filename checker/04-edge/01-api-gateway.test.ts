import { it } from 'vitest';
import { absent, expectAllEnded, expectThat, expectTrace, malformedAuthorizations, present, random, useTracing, verify, type SpanShape, type TraceTree } from '#checks';
import { createGateway } from '#target/04-edge/01-api-gateway/gateway.ts';
import { bearer, clientSpans, CLIENT_ID, Gateway, tokens, type Reply, type Upstream } from './01-api-gateway.rig.ts';

const otel = useTracing();
const target = { createGateway, otel };

const start = (options?: Parameters<typeof Gateway.start>[1]): Promise<Gateway> => Gateway.start(target, options);

const userPath = (): string => `/users/${random.int(1, 99_999)}`;
const orderPath = (): string => `/orders/${random.id('ord-')}`;
const describeReply = (reply: Reply): string => `${reply.status} ${JSON.stringify(reply.body)}`;

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

it('routes by path prefix: /users… to a users instance and /orders… to an orders instance, path and query unchanged', async () => {
  const gw = await start();
  const authorization = await gw.authorization(random.id('client-'));
  const unknown = [`/users-admin/${random.int(1, 99)}`, `/usersettings`, `/payments/${random.id()}`, '/'];
  for (const path of unknown) {
    const before = gw.totalHits();
    const reply = await gw.get(path, authorization);
    verify(reply.status, `the status of GET ${path}, which no route matches (a prefix matches whole path segments only)`).is(404);
    verify(gw.totalHits() - before, `requests the upstreams received for GET ${path}`).is(0);
  }
  const routed = random.shuffle([userPath(), `${userPath()}/addresses?page=${random.int(1, 9)}`, '/users', orderPath(), `${orderPath()}?expand=lines`]);
  for (const path of routed) {
    const reply = await gw.get(path, authorization);
    const service = path.startsWith('/users') ? gw.users : gw.orders;
    verify(reply.status, `the status of GET ${path} (answer: ${describeReply(reply)})`).is(200);
    verify(gw.answeredBy(reply), `the instance that answered GET ${path}`).isOneOf(service.map((u) => u.name));
    verify((reply.body as { path?: unknown }).path, `the path and query the instance received for GET ${path}`).is(path);
  }
});

it('refuses with 401, and calls no upstream, when the token is missing, malformed, expired or signed with another key', async () => {
  const gw = await start();
  const issuer = await tokens();
  const client = random.id('client-');
  const secondsAgo = random.int(1, 3600);
  const refused = [
    { what: 'no Authorization header', authorization: undefined },
    ...malformedAuthorizations(await issuer.issue(client), () => random.word(random.int(4, 9))).map((m) => ({ what: m.what, authorization: m.header })),
    { what: 'a valid token without a sub claim', authorization: bearer(await issuer.withoutSubject()) },
    { what: `a token that expired ${secondsAgo} s ago`, authorization: bearer(await issuer.expired(client, secondsAgo)) },
    { what: 'a token signed with another key', authorization: bearer(await issuer.forged(client)) },
  ];
  for (const { what, authorization } of random.shuffle(refused)) {
    const reply = await gw.get(userPath(), authorization);
    verify(reply.status, `the status of a request with ${what}`).is(401);
    verify(gw.totalHits(), `requests the upstreams received, after a request with ${what}`).is(0);
  }
  const reply = await gw.get(userPath(), await gw.authorization(client));
  verify(reply.status, `the status of a request with a valid token (answer: ${describeReply(reply)})`).is(200);
});

it('limits each client (the token\'s sub) with its own token bucket: 429 with Retry-After in whole seconds, rounded up', async () => {
  const capacity = random.int(2, 4);
  const seconds = random.int(1, 4);
  // A refill that is never a whole number of seconds, and rounds down: only rounding up gives the right Retry-After.
  const refillEveryMs = seconds * 1000 + random.int(1, 499);
  const gw = await start({ capacity, refillEveryMs });
  const client = random.id('client-');
  // Two tokens of the same client: the budget is the client's, not the token's.
  const own = [await gw.authorization(client), await gw.authorization(client)] as const;
  const path = userPath();
  for (let i = 0; i < capacity; i++) {
    const reply = await gw.get(path, own[i % 2]);
    verify(reply.status, `request #${i + 1} of a burst of ${capacity}, the bucket's capacity (two tokens of the same client, in turn)`).is(200);
  }
  const hits = gw.totalHits();
  const limited = await gw.get(path, own[capacity % 2]);
  verify(limited.status, `request #${capacity + 1}, one more than the capacity, with the other token of the same client`).is(429);
  verify(limited.headers['retry-after'], `the Retry-After header, ${refillEveryMs} ms before a token is back`).is(String(seconds + 1));
  verify(gw.totalHits() - hits, 'requests the upstreams received for a limited request').is(0);

  const other = await gw.get(path, await gw.authorization(random.id('other-')));
  verify(other.status, 'the status of another client\'s first request, while the first client is limited').is(200);

  await gw.clock.advance(refillEveryMs - 1);
  const early = await gw.get(path, own[0]);
  verify(early.status, `the status 1 ms before a token is back (${refillEveryMs - 1} ms later)`).is(429);
  verify(early.headers['retry-after'], 'the Retry-After header, 1 ms before a token is back').is('1');
  await gw.clock.advance(1);
  verify((await gw.get(path, own[1])).status, `the status once a token is back (${refillEveryMs} ms after the burst)`).is(200);
  verify((await gw.get(path, own[0])).status, 'the status right after, the bucket empty again').is(429);
});

it('takes the instances of each service in turn (round-robin, one turn per service)', async () => {
  const gw = await start();
  const authorization = await gw.authorization(random.id('client-'));
  // Alternating services catches one turn shared by every service; the random part, any other order.
  const services = [...Array.from({ length: 4 }, (_, i) => (i % 2 === 0 ? 'users' : 'orders')), ...Array.from({ length: 6 }, () => random.pick(['users', 'orders']))];
  const answered: Record<string, string[]> = { users: [], orders: [] };
  for (const service of services) {
    const reply = await gw.get(service === 'users' ? userPath() : orderPath(), authorization);
    answered[service]?.push(gw.answeredBy(reply) ?? `(answer ${describeReply(reply)})`);
  }
  for (const [service, names] of Object.entries(answered)) {
    const repeat = names.findIndex((name, i) => i > 0 && name === names[i - 1]);
    expectThat(
      repeat < 0,
      `each request to ${service} goes to the next of its two instances, in turn`,
      `requests #${repeat} and #${repeat + 1} to ${service} both went to ${names[repeat] ?? '?'} (the ${service} instances that answered, in order: ${names.join(', ')})`,
    );
  }
});

it('gives each instance its own breaker: a failing instance is skipped once open, its twin answers, and it is tried again after the cool-down', async () => {
  const failureThreshold = random.int(1, 3);
  const coolDownMs = random.int(2, 9) * 1000;
  const gw = await start({ failureThreshold, coolDownMs });
  const authorization = await gw.authorization(random.id('client-'));
  const [sick, healthy] = random.shuffle(gw.users) as [Upstream, Upstream];
  sick.mode = 500;
  let sent = 0;
  while (sick.hits < failureThreshold && sent < 2 * failureThreshold + 4) {
    const reply = await gw.get(userPath(), authorization);
    sent++;
    verify(reply.status, `request #${sent} while ${sick.name} answers 500 and ${healthy.name} is healthy (the gateway tries the next instance)`).is(200);
    verify(gw.answeredBy(reply), `the instance that answered request #${sent}`).is(healthy.name);
  }
  verify(sick.hits, `requests ${sick.name} received in ${sent} requests, taking turns with ${healthy.name}`).is(failureThreshold);
  for (let i = 0; i < 4; i++) {
    const reply = await gw.get(userPath(), authorization);
    verify(reply.status, `request #${i + 1} after ${sick.name} failed ${failureThreshold} times in a row (its breaker is open)`).is(200);
  }
  verify(sick.hits, `requests ${sick.name} received while its breaker is open (failureThreshold ${failureThreshold})`).is(failureThreshold);

  await gw.clock.advance(coolDownMs);
  sick.mode = 'ok';
  const after: string[] = [];
  for (let i = 0; i < 4; i++) after.push(gw.answeredBy(await gw.get(userPath(), authorization)) ?? '(no instance)');
  verify(
    after.filter((name) => name === sick.name).length,
    `answers from ${sick.name} among 4 requests after the ${coolDownMs} ms cool-down, now that it is healthy (the trial succeeds, and it takes its turns again; answered by: ${after.join(', ')})`,
  ).is(2);
});

it('answers 502 when every attempt failed, and 503 without calling anyone once every instance\'s breaker is open', async () => {
  const failureThreshold = random.int(1, 3);
  const gw = await start({ failureThreshold });
  const authorization = await gw.authorization(random.id('client-'));
  await Promise.all(gw.orders.map((u) => u.stop()));
  for (let i = 0; i < failureThreshold; i++) {
    const reply = await gw.get(orderPath(), authorization);
    verify(reply.status, `request #${i + 1} while both orders instances refuse connections (failureThreshold ${failureThreshold})`).is(502);
  }
  const open = await gw.get(orderPath(), authorization);
  verify(open.status, `request #${failureThreshold + 1}: each instance failed ${failureThreshold} times in a row, so both breakers are open`).is(503);
  const users = await gw.get(userPath(), authorization);
  verify(users.status, 'a request to users meanwhile: its instances have breakers of their own').is(200);
});

it('passes a 4xx answer on: no other instance is tried, and it is no failure for the breaker', async () => {
  const failureThreshold = random.int(1, 2);
  const gw = await start({ failureThreshold });
  const authorization = await gw.authorization(random.id('client-'));
  for (const upstream of gw.users) upstream.mode = random.pick([404, 409, 422]);
  for (let i = 0; i < failureThreshold + 2; i++) {
    const before = gw.totalHits();
    const reply = await gw.get(userPath(), authorization);
    const scripted = gw.users.map((u) => u.mode as number);
    verify(reply.status, `request #${i + 1}, which the users instances answer ${scripted.join(' or ')}`).isOneOf(scripted);
    verify(gw.totalHits() - before, `instances called for request #${i + 1}, answered ${reply.status} (a 4xx is the answer, not a failure)`).is(1);
  }
  for (const upstream of gw.users) upstream.mode = 'ok';
  for (let i = 0; i < 2; i++) {
    const reply = await gw.get(userPath(), authorization);
    verify(reply.status, `a request after ${failureThreshold + 2} answers in the 4xx range (breakers count only 5xx and no answer)`).is(200);
  }
});

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

function serverShape(route: string | undefined, status: number, attributes: SpanShape['attributes'], children: SpanShape[]): SpanShape {
  const error = status >= 500;
  return {
    name: route === undefined ? 'GET' : `GET ${route}`,
    kind: 'server',
    status: error ? 'error' : 'unset',
    attributes: {
      'http.request.method': 'GET',
      'http.route': route ?? absent(),
      'http.response.status_code': status,
      ...(error ? {} : { 'error.type': absent() }),
      ...attributes,
    },
    ordered: true,
    children,
  };
}

const authShape = (reason?: string): SpanShape => ({
  name: 'auth',
  kind: 'internal',
  status: reason === undefined ? 'unset' : 'error',
  attributes: { 'error.type': reason ?? absent() },
});

function attemptShape(upstream: Upstream, resends: number, answer: { status: number } | 'none'): SpanShape {
  const failed = answer === 'none' || answer.status >= 400;
  return {
    name: `GET ${upstream.route}`,
    kind: 'client',
    status: failed ? 'error' : 'unset',
    attributes: {
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': upstream.port,
      'http.request.resend_count': resends === 0 ? absent() : resends,
      'http.response.status_code': answer === 'none' ? absent() : answer.status,
      'error.type': answer === 'none' ? present() : failed ? String(answer.status) : absent(),
    },
    children: answer === 'none' ? [] : [upstream.serverShape()],
  };
}

function expectNoAttempt(trace: TraceTree, what: string): void {
  verify(
    clientSpans(trace).map((span) => `${span.name} (server.port=${String(span.attributes['server.port'])})`),
    `the CLIENT spans of ${what}: an answer the gateway gives itself calls no upstream`,
  ).equals([]);
}

it('traces a request it forwards: SERVER span, auth, one CLIENT span whose child is the upstream\'s SERVER span', async () => {
  const gw = await start();
  const client = random.id('client-');
  const reply = await gw.get(userPath(), await gw.authorization(client));
  const upstream = gw.users.find((u) => u.name === gw.answeredBy(reply));
  expectThat(upstream !== undefined, 'a users instance answers a request with a valid token', `the gateway answered ${describeReply(reply)}`);
  expectAllEnded(otel, 'every span ends, the gateway\'s SERVER span included');
  const trace = await gw.lastTrace('a forwarded request');
  expectTrace(
    [trace],
    serverShape('/users/*', 200, { [CLIENT_ID]: client }, [authShape(), attemptShape(upstream, 0, { status: 200 })]),
    'the request\'s SERVER span parents the auth span and one CLIENT span per attempt; the traceparent injected in the CLIENT span ' +
      'makes the upstream\'s SERVER span its child, so the whole path is one trace',
  );
  verify(clientSpans(trace).length, 'the CLIENT spans of a request the first instance answered').is(1);
});

it('traces a request that fails over: one CLIENT span per attempt, the failed one ERROR, the next with http.request.resend_count', async () => {
  const gw = await start({ failureThreshold: 5 });
  const client = random.id('client-');
  const authorization = await gw.authorization(client);
  const [sick, healthy] = random.shuffle(gw.users) as [Upstream, Upstream];
  sick.mode = random.pick([500, 502, 503]);
  // Two requests in a row: one of them starts with the sick instance.
  await gw.get(userPath(), authorization);
  await gw.get(userPath(), authorization);
  const traces = await gw.requestTraces();
  expectTrace(
    traces,
    serverShape('/users/*', 200, { [CLIENT_ID]: client }, [authShape(), attemptShape(sick, 0, { status: sick.mode as number }), attemptShape(healthy, 1, { status: 200 })]),
    `${sick.name} answered ${String(sick.mode)}: its attempt is a CLIENT span, ERROR with error.type="${String(sick.mode)}"; the gateway tried ${healthy.name} next, ` +
      'a second CLIENT span with http.request.resend_count=1, and the request succeeded (the SERVER span is not an error)',
  );
});

it('traces the refusals: 401 with the reason on the auth span, and no CLIENT span', async () => {
  const gw = await start();
  const issuer = await tokens();
  const client = random.id('client-');
  const [malformed] = random.shuffle(malformedAuthorizations(await issuer.issue(client), () => random.word(6)));
  const cases = [
    { what: 'no token', authorization: undefined, reason: 'missing_token' },
    { what: malformed?.what ?? 'a malformed token', authorization: malformed?.header, reason: 'malformed_token' },
    { what: 'an expired token', authorization: bearer(await issuer.expired(client, random.int(1, 600))), reason: 'expired_token' },
    { what: 'a token signed with another key', authorization: bearer(await issuer.forged(client)), reason: 'invalid_signature' },
  ];
  for (const { what, authorization, reason } of random.shuffle(cases)) {
    await gw.get(userPath(), authorization);
    const trace = await gw.lastTrace(`a request with ${what}`);
    expectTrace(
      [trace],
      serverShape('/users/*', 401, { [CLIENT_ID]: absent() }, [authShape(reason)]),
      `a request with ${what}: the auth span is ERROR with error.type="${reason}"; the SERVER span answered 401, the client's mistake, so it stays UNSET, ` +
        'and it has no client id (nobody was authenticated)',
    );
    expectNoAttempt(trace, `a request with ${what}`);
  }
});

it('traces a limited request: 429 on an UNSET SERVER span with the client id, and no CLIENT span', async () => {
  const capacity = random.int(1, 3);
  const gw = await start({ capacity, refillEveryMs: 60_000 });
  const client = random.id('client-');
  const authorization = await gw.authorization(client);
  for (let i = 0; i <= capacity; i++) await gw.get(userPath(), authorization);
  const trace = await gw.lastTrace('a limited request');
  expectTrace(
    [trace],
    serverShape('/users/*', 429, { [CLIENT_ID]: client }, [authShape()]),
    'a 429 is the gateway protecting the upstreams, not a failure: the SERVER span stays UNSET, names the client, and has no CLIENT child',
  );
  expectNoAttempt(trace, 'a limited request');
});

it('traces 502 and 503: ERROR SERVER spans with error.type; 502 has a failed CLIENT span per attempt, 503 none', async () => {
  const gw = await start({ failureThreshold: 1 });
  const client = random.id('client-');
  const authorization = await gw.authorization(client);
  await Promise.all(gw.orders.map((u) => u.stop()));
  await gw.get(orderPath(), authorization);
  const failed = await gw.lastTrace('a request both orders instances refused');
  const tried = clientSpans(failed);
  verify(tried.length, 'the CLIENT spans of a request both orders instances refused (one per attempt)').is(2);
  const firstTried = gw.orders.find((u) => u.port === tried[0]?.attributes['server.port']) ?? gw.orders[0];
  const secondTried = gw.orders.find((u) => u !== firstTried) ?? gw.orders[1];
  expectTrace(
    [failed],
    serverShape('/orders/*', 502, { [CLIENT_ID]: client, 'error.type': 'upstream_failed' }, [
      authShape(),
      attemptShape(firstTried, 0, 'none'),
      attemptShape(secondTried, 1, 'none'),
    ]),
    'no instance answered: each attempt is an ERROR CLIENT span with an error.type (no upstream span under it: nobody answered), ' +
      'and the gateway failed the request, so its SERVER span is ERROR with error.type="upstream_failed"',
  );

  await gw.get(orderPath(), authorization);
  const open = await gw.lastTrace('a request while both breakers are open');
  expectTrace(
    [open],
    serverShape('/orders/*', 503, { [CLIENT_ID]: client, 'error.type': 'circuit_open' }, [authShape()]),
    'every breaker is open: the gateway answers 503 at once, an ERROR SERVER span with error.type="circuit_open"',
  );
  expectNoAttempt(open, 'a request while every breaker is open');
});

it('traces a path no route matches: a SERVER span named after the method alone, 404, no http.route', async () => {
  const gw = await start();
  await gw.get(`/${random.word(7)}/${random.int(1, 99)}`, await gw.authorization(random.id('client-')));
  const trace = await gw.lastTrace('a request no route matches');
  expectTrace([trace], serverShape(undefined, 404, {}, []), 'no route, no route template: the span name is the method alone, and a 404 is not an error of this server');
  expectNoAttempt(trace, 'a request no route matches');
});
