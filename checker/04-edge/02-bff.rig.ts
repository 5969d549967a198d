/**
 * The rig of the bff checks: the learner's backend for frontends on loopback, in front of three
 * fake backends (profile, orders with its items endpoint, recommendations) that serve a random
 * user's world, and whose answers the checks can fail, hold, or hold until all three were called.
 * The clock of the recommendations budget is a FakeClock. The code under test is handed in by the
 * checker file (the only one that imports #target).
 */
import { afterCheck, closeAfter, fail, random, show, type TraceHarness, type TraceTree } from '#checks';
import { FakeClock, httpRequest, startFakeService, startHttpServer, type FakeService, type FakeServiceReply, type FakeServiceRequest } from '#kit';
import type { createBff } from '#target/04-edge/02-bff/bff.ts';

export interface Target {
  createBff: typeof createBff;
  otel: TraceHarness;
}

/** Well under the per-check limit, so a request that never gets an answer fails as a check, not as a hang. */
export const ANSWER_MS = 1000;
/** How long the barrier waits for the three calls before it lets the first ones through anyway. */
export const BARRIER_MS = 600;

export const MOBILE_ORDERS = 3;
export const MOBILE_RECOMMENDATIONS = 3;

export interface Profile {
  id: string;
  name: string;
  email: string;
  avatarUrl: string;
  memberSince: string;
}
export interface Order {
  id: string;
  status: string;
  placedAt: string;
  totalCents: number;
  lines: { itemId: string; quantity: number }[];
}
export interface Item {
  id: string;
  title: string;
  priceCents: number;
}
export interface Recommendation {
  id: string;
  title: string;
}

/** One user's data, as the backends hold it. */
export interface World {
  userId: string;
  profile: Profile;
  /** Newest first, as the orders backend answers them. */
  orders: Order[];
  items: Map<string, Item>;
  recommendations: Recommendation[];
}

export interface WorldOptions {
  orders?: [number, number];
  recommendations?: [number, number];
}

/**
 * A random user. Every run has what the batching rules are about: at least two different items,
 * and one item named by two orders (looked up once).
 */
export function randomWorld(options: WorldOptions = {}): World {
  const userId = random.id('user-');
  const pool = Array.from({ length: random.int(4, 8) }, (_, i): Item => ({
    id: `item-${i}-${random.word(4)}`,
    title: `${random.word(random.int(4, 8))} ${random.word(random.int(3, 7))}`,
    priceCents: random.int(100, 9_999),
  }));
  const [shared, second] = random.sample(pool, 2) as [Item, Item];
  const [minOrders, maxOrders] = options.orders ?? [2, 4];
  const orders = Array.from({ length: random.int(Math.max(2, minOrders), maxOrders) }, (_, i): Order => {
    const picked = i === 0 ? [shared, second] : i === 1 ? [shared, ...random.sample(pool.filter((p) => p !== shared), random.int(0, 2))] : random.sample(pool, random.int(1, 3));
    return {
      id: random.id('ord-'),
      status: random.pick(['placed', 'paid', 'shipped', 'delivered']),
      placedAt: new Date(Date.UTC(2026, 10, 28 - i, random.int(0, 23))).toISOString(),
      totalCents: random.int(500, 99_999),
      lines: random.shuffle(picked).map((item) => ({ itemId: item.id, quantity: random.int(1, 4) })),
    };
  });
  const [minRecs, maxRecs] = options.recommendations ?? [1, 5];
  return {
    userId,
    profile: {
      id: userId,
      name: `${random.word(5)} ${random.word(7)}`,
      email: `${random.word(6)}@example.com`,
      avatarUrl: `https://cdn.example.com/avatars/${random.id()}.png`,
      memberSince: `20${random.int(10, 25)}-0${random.int(1, 9)}-1${random.int(0, 9)}`,
    },
    orders,
    items: new Map(pool.map((item) => [item.id, item])),
    recommendations: Array.from({ length: random.int(minRecs, maxRecs) }, () => ({ id: random.id('rec-'), title: random.word(random.int(5, 10)) })),
  };
}

/** The web answer the README describes, for this world. */
export function expectedWeb(world: World, degraded = false): unknown {
  return {
    profile: world.profile,
    orders: world.orders.map((order) => ({
      id: order.id,
      status: order.status,
      placedAt: order.placedAt,
      totalCents: order.totalCents,
      lines: order.lines.map((line) => {
        const item = world.items.get(line.itemId) as Item;
        return { itemId: line.itemId, quantity: line.quantity, title: item.title, priceCents: item.priceCents };
      }),
    })),
    recommendations: degraded ? [] : world.recommendations,
    degraded,
  };
}

/** The mobile answer the README describes, for this world. */
export function expectedMobile(world: World, degraded = false): unknown {
  return {
    name: world.profile.name,
    avatarUrl: world.profile.avatarUrl,
    orders: world.orders.slice(0, MOBILE_ORDERS).map((order) => ({
      id: order.id,
      status: order.status,
      totalCents: order.totalCents,
      itemCount: order.lines.reduce((sum, line) => sum + line.quantity, 0),
    })),
    recommendations: degraded ? [] : world.recommendations.slice(0, MOBILE_RECOMMENDATIONS),
    degraded,
  };
}

/** The distinct item ids of a world's orders. */
export function distinctItems(world: World): string[] {
  return [...new Set(world.orders.flatMap((order) => order.lines.map((line) => line.itemId)))];
}

/**
 * Lets the three calls of one request through together, once all three have arrived. It gives up
 * only after BARRIER_MS without a new call arriving, and decides after the event loop has read
 * what is waiting on its sockets, so a busy machine never breaks it for calls made together.
 */
export class Barrier {
  private readonly waiting: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The backends in the order their calls arrived. */
  readonly arrived: string[] = [];
  /** The calls did not all arrive in time: the first ones were let through alone. */
  broken = false;
  /** The backends that had been called when the barrier gave up. */
  arrivedInTime: string[] = [];
  private opened = false;

  constructor(private readonly size: number) {
    this.wait();
    afterCheck(() => this.open());
  }

  arrive(backend: string): Promise<void> {
    this.arrived.push(backend);
    if (this.opened || this.arrived.length >= this.size) {
      this.open();
      return Promise.resolve();
    }
    this.wait();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private wait(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      // Timers fire before the loop polls its sockets: let a call that is already waiting arrive first.
      setImmediate(() => {
        if (this.opened || this.arrived.length >= this.size) return;
        this.broken = true;
        this.arrivedInTime = [...this.arrived];
        this.open();
      });
    }, BARRIER_MS);
  }

  private open(): void {
    this.opened = true;
    clearTimeout(this.timer);
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

/** One fake backend. `mode` answers a status instead of the data; `gate` keeps a call in flight until it resolves. */
export class Backend {
  mode: 'ok' | number = 'ok';
  gate: ((request: FakeServiceRequest) => Promise<unknown>) | undefined;

  constructor(
    readonly name: string,
    readonly service: FakeService,
  ) {}

  requestsTo(path: string | RegExp): FakeServiceRequest[] {
    return this.service.requests.filter((r) => (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }
}

export interface Reply {
  status: number;
  body: unknown;
}

export class Bff {
  private constructor(
    private readonly target: Target,
    readonly url: string,
    readonly world: World,
    readonly clock: FakeClock,
    readonly budgetMs: number,
    readonly profile: Backend,
    readonly orders: Backend,
    readonly recommendations: Backend,
  ) {}

  static async start(target: Target, world: World): Promise<Bff> {
    const backends: Record<string, Backend> = {};
    const serve = async (name: string, route: string | undefined, answer: (request: FakeServiceRequest) => FakeServiceReply): Promise<Backend> => {
      const service = await startFakeService({
        name,
        ...(route === undefined ? {} : { route }),
        reply: async (request) => {
          const backend = backends[name] as Backend;
          const firstLevel = request.path !== '/items';
          if (firstLevel && backend.gate) await backend.gate(request);
          if (firstLevel && backend.mode !== 'ok') return { status: backend.mode, body: { error: `${name} answers ${backend.mode}, as the check scripted` } };
          return answer(request);
        },
      });
      backends[name] = new Backend(name, closeAfter(service));
      return backends[name];
    };
    const query = (request: FakeServiceRequest): URLSearchParams => new URLSearchParams(request.url.split('?')[1] ?? '');
    const [profile, orders, recommendations] = await Promise.all([
      serve('profile', '/profiles/:id', (request) =>
        request.path === `/profiles/${world.userId}` ? { body: world.profile } : { status: 404, body: { error: 'no such profile' } },
      ),
      serve('orders', undefined, (request) => {
        if (request.path === '/orders') return { body: { orders: query(request).get('userId') === world.userId ? world.orders : [] } };
        if (request.path === '/items') return { body: { items: inAnotherOrder((query(request).get('ids') ?? '').split(',').filter((id) => world.items.has(id))).map((id) => world.items.get(id)) } };
        return { status: 404, body: { error: 'no such endpoint' } };
      }),
      serve('recommendations', '/recommendations/:id', (request) => ({
        body: { items: request.path === `/recommendations/${world.userId}` ? world.recommendations : [] },
      })),
    ]);
    const clock = new FakeClock(random.int(0, 1_000_000));
    const budgetMs = random.int(15, 40) * 100;
    const handler = target.createBff({
      backends: { profile: profile.service.url, orders: orders.service.url, recommendations: recommendations.service.url },
      recommendationsBudgetMs: budgetMs,
      clock,
    });
    const server = closeAfter(await startHttpServer(handler));
    return new Bff(target, server.url, world, clock, budgetMs, profile, orders, recommendations);
  }

  get backends(): Backend[] {
    return [this.profile, this.orders, this.recommendations];
  }

  /** Holds the first call to each backend until all three were called (or the barrier gives up). */
  barrier(): Barrier {
    const barrier = new Barrier(3);
    for (const backend of this.backends) backend.gate = () => barrier.arrive(backend.name);
    return barrier;
  }

  /** Sends `GET path` for the world's user and returns the answer, without waiting for it. `noAnswer` says what to suspect when none comes. */
  send(path: string, noAnswer = 'does the BFF answer every request?'): Promise<Reply> {
    return httpRequest(`${this.url}${path}`, { headers: { 'x-user-id': this.world.userId }, timeoutMs: ANSWER_MS }).then(
      (response) => {
        let body: unknown = response.body;
        try {
          body = JSON.parse(response.body);
        } catch {
          // not JSON: the checks that read the body say so
        }
        return { status: response.status, body };
      },
      (error: unknown) => fail(`GET ${path} got no answer within ${ANSWER_MS} ms (${(error as Error).message}): ${noAnswer}`),
    );
  }

  get(path: string): Promise<Reply> {
    return this.send(path);
  }

  /** The traces of the BFF's requests (roots that are its SERVER spans), in the order they were sent. */
  async requestTraces(): Promise<TraceTree[]> {
    await this.target.otel.settled();
    return this.target.otel
      .traces()
      .filter((t) => t.roots.some((root) => root.kind === 'server' && /^GET \/(web|mobile)\/home$/.test(root.name)))
      .sort((a, b) => a.startEpochMs - b.startEpochMs);
  }

  async lastTrace(what: string): Promise<TraceTree> {
    const last = (await this.requestTraces()).at(-1);
    if (!last) fail(`${what}: no SERVER span "GET /web/home" or "GET /mobile/home" was recorded (a root span of kind SERVER for each request)`);
    return last;
  }
}

/** The ids in an order different from the one asked for (when there are two or more). */
function inAnotherOrder(ids: string[]): string[] {
  if (ids.length < 2) return ids;
  for (;;) {
    const shuffled = random.shuffle(ids);
    if (shuffled.some((id, i) => id !== ids[i])) return shuffled;
  }
}

/**
 * Fails unless `actual` deeply equals `expected`, naming the first field that differs by its path
 * (`orders[1].lines[0].title`), so a learner sees which part of a large answer is wrong.
 */
export function expectAnswer(actual: unknown, expected: unknown, what: string): void {
  const difference = firstDifference(actual, expected, '');
  if (difference !== undefined) fail(`${what}: ${difference}`);
}

function firstDifference(actual: unknown, expected: unknown, at: string): string | undefined {
  const where = at === '' ? 'the answer' : at;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${where} is ${show(actual)}, expected a list of ${expected.length}`;
    for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
      if (i >= actual.length) return `${where} has ${actual.length} entries, expected ${expected.length} (missing: ${show(expected[i])})`;
      if (i >= expected.length) return `${where} has ${actual.length} entries, expected ${expected.length} (one too many: ${show(actual[i])})`;
      const inner = firstDifference(actual[i], expected[i], `${at}[${i}]`);
      if (inner) return inner;
    }
    return undefined;
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return `${where} is ${show(actual)}, expected an object`;
    const record = actual as Record<string, unknown>;
    for (const key of Object.keys(expected)) {
      const path = at === '' ? key : `${at}.${key}`;
      if (!(key in record)) return `${path} is missing, expected ${show((expected as Record<string, unknown>)[key])}`;
      const inner = firstDifference(record[key], (expected as Record<string, unknown>)[key], path);
      if (inner) return inner;
    }
    const extra = Object.keys(record).filter((key) => !(key in expected));
    if (extra.length > 0) return `${where} has ${extra.map((key) => `"${key}"`).join(', ')}, which this answer does not have`;
    return undefined;
  }
  return Object.is(actual, expected) ? undefined : `${where} is ${show(actual)}, expected ${show(expected)}`;
}

/** Resolves when `predicate` holds, or after `ms` (false); the last look comes after the event loop has read its sockets. */
export async function eventually(predicate: () => boolean, ms = 500): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) {
      await new Promise((resolve) => setImmediate(resolve));
      return predicate();
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return true;
}
