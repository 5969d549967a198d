/*
 * The rig of the red-metrics checks: the learner's orders API on a loopback server, over an order
 * store the checks control (how long each call takes on a fake clock, whether it fails, when it
 * answers), requests planned at random around the edges the README states, and the README's
 * metrics rules (which series each request belongs to, which bucket each duration falls in).
 */
import type { AttributeValue, Attributes } from '@opentelemetry/api';
import {
  absent,
  closeAfter,
  describeAttributes,
  fail,
  pointsWhere,
  random,
  show,
  type HistogramMetric,
  type MetricData,
  type NumberMetric,
} from '#checks';
import { FakeClock, httpRequest, startHttpServer, type Deferred, type HttpHandler } from '#kit';
import type { NewOrder, Order, OrdersApiOptions, OrderStore } from '#target/06-pipeline/04-red-metrics/server.ts';

export const DURATION = 'http.server.request.duration';
export const REQUESTS = 'app.http.server.requests';
export const ACTIVE = 'http.server.active_requests';
export const STATUS_CLASS = 'app.http.status_class';
/** The README's bucket boundaries, in seconds. */
export const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
export const ROUTES = ['/orders', '/orders/:id', '/customers/:customerId/orders'] as const;
const ANSWER_MS = 1500;

/** What the store does with one call: take `ms` of fake time, wait for a gate, fail. */
interface Behaviour {
  ms: number;
  fails: boolean;
  gate?: Deferred<void> | undefined;
}

export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/** An order store whose every call does what the check planned for it. */
export class PlannedStore implements OrderStore {
  readonly calls: string[] = [];
  private readonly plans = new Map<string, Behaviour[]>();
  private readonly orders = new Map<string, Order>();

  constructor(private readonly clock: FakeClock) {}

  plan(key: string, behaviour: Behaviour): void {
    this.plans.set(key, [...(this.plans.get(key) ?? []), behaviour]);
  }

  add(order: Order): void {
    this.orders.set(order.id, order);
  }

  list(): Promise<Order[]> {
    return this.run('list', () => [...this.orders.values()]);
  }

  find(id: string): Promise<Order | undefined> {
    return this.run(`find:${id}`, () => this.orders.get(id));
  }

  forCustomer(customerId: string): Promise<Order[]> {
    return this.run(`customer:${customerId}`, () => [...this.orders.values()].filter((o) => o.customerId === customerId));
  }

  create(order: NewOrder): Promise<Order> {
    return this.run(`create:${order.item}`, () => {
      const created = { id: random.id('ord-'), ...order };
      this.orders.set(created.id, created);
      return created;
    });
  }

  private async run<T>(key: string, result: () => T): Promise<T> {
    this.calls.push(key);
    const behaviour = this.plans.get(key)?.shift() ?? { ms: 0, fails: false };
    if (behaviour.gate) await behaviour.gate.promise;
    // The call takes this long on the API's clock: the only time a correct measurement sees.
    if (behaviour.ms > 0) await this.clock.advance(behaviour.ms);
    if (behaviour.fails) throw new StoreUnavailableError('the order store is unavailable');
    return result();
  }
}

export type Outcome = 'ok' | 'missing' | 'invalid' | 'fails' | 'unmatched';

/** One request the check sends, and everything the README says follows from it. */
export interface Planned {
  method: string;
  path: string;
  /** The route template the API matches, or undefined for a path no route matches. */
  route: string | undefined;
  body?: string;
  outcome: Outcome;
  status: number;
  /** Fake milliseconds the store takes (0 when the store is not called). */
  ms: number;
  /** The store key the request reaches, when it reaches the store. */
  key: string | undefined;
  /** Random words in the path (ids): what must never become a metric attribute. */
  raw: string[];
}

/** A random id that cannot be mistaken for anything else in an attribute: four letters and four digits. */
export function token(prefix = ''): string {
  return `${prefix}${random.word(4)}${random.int(1000, 9999)}`;
}

const STATUS: Record<Outcome, number> = { ok: 200, missing: 404, invalid: 400, fails: 500, unmatched: 404 };

/** A request to `kind`; `ms` is what the store takes. */
export function request(kind: 'list' | 'find' | 'customer' | 'create' | 'unmatched', outcome: Outcome, ms: number): Planned {
  switch (kind) {
    case 'list':
      return { method: 'GET', path: '/orders', route: '/orders', outcome, status: STATUS[outcome], ms, key: 'list', raw: [] };
    case 'find': {
      // An invalid id is answered 400 before the store is called.
      const id = outcome === 'invalid' ? token(random.pick(['', 'order-', 'ORD-'])) : token('ord-');
      if (outcome === 'invalid') return { method: 'GET', path: `/orders/${id}`, route: '/orders/:id', outcome, status: 400, ms: 0, key: undefined, raw: [id] };
      return { method: 'GET', path: `/orders/${id}`, route: '/orders/:id', outcome, status: STATUS[outcome], ms, key: `find:${id}`, raw: [id] };
    }
    case 'customer': {
      const id = token('cust-');
      return { method: 'GET', path: `/customers/${id}/orders`, route: '/customers/:customerId/orders', outcome, status: STATUS[outcome], ms, key: `customer:${id}`, raw: [id] };
    }
    case 'create': {
      const item = token('item-');
      const order = { customerId: random.id('cust-'), item, quantity: outcome === 'invalid' ? 0 : random.int(1, 9) };
      const status = outcome === 'ok' ? 201 : STATUS[outcome];
      // An invalid order is answered before the store is called: it takes no time.
      const reaches = outcome !== 'invalid';
      return { method: 'POST', path: '/orders', route: '/orders', body: JSON.stringify(order), outcome, status, ms: reaches ? ms : 0, key: reaches ? `create:${item}` : undefined, raw: [] };
    }
    case 'unmatched': {
      const id = token();
      const path = random.pick([`/orders/${id}/items/${random.int(1, 99)}`, `/admin/${id}`, `/v2/orders/${id}`, `/orders/${id}/`]);
      return { method: random.pick(['GET', 'DELETE', 'PUT']), path, route: undefined, outcome: 'unmatched', status: 404, ms: 0, key: undefined, raw: [id] };
    }
  }
}

/** A random request of any route and outcome, taking a random time. */
export function randomRequest(): Planned {
  const kind = random.pick(['list', 'find', 'customer', 'create', 'unmatched'] as const);
  const outcomes: Record<typeof kind, Outcome[]> = {
    list: ['ok', 'ok', 'fails'],
    find: ['ok', 'missing', 'invalid', 'fails'],
    customer: ['ok', 'fails'],
    create: ['ok', 'invalid', 'fails'],
    unmatched: ['unmatched'],
  };
  return request(kind, random.pick(outcomes[kind]), randomMs());
}

/** A duration in milliseconds, anywhere from instant to past the last bucket. */
export function randomMs(): number {
  return random.pick([random.int(1, 9), random.int(11, 99), random.int(101, 999), random.int(1001, 9999), random.int(10_001, 30_000)]);
}

/**
 * Every bucket boundary exactly (a duration on a boundary belongs to the bucket it closes), none
 * at all, one past the last boundary: each on a random route that reaches the store.
 */
export function edgeRequests(): Planned[] {
  const ms = [0, ...BUCKETS.map((seconds) => Math.round(seconds * 1000)), 10_001, random.int(12_000, 60_000)];
  return ms.map((duration) => {
    const kind = random.pick(['list', 'find', 'customer', 'create'] as const);
    const outcome = random.pick(kind === 'find' ? (['ok', 'missing', 'fails'] as const) : (['ok', 'fails'] as const));
    return request(kind, outcome, duration);
  });
}

/** The API on a loopback server, over a planned store, measured on a fake clock that starts at a random time. */
export async function startApi(createOrdersApi: (options: OrdersApiOptions) => HttpHandler): Promise<{ url: string; store: PlannedStore; clock: FakeClock }> {
  const clock = new FakeClock(random.int(1_000_000, 9_000_000_000));
  const store = new PlannedStore(clock);
  const server = closeAfter(await startHttpServer(createOrdersApi({ clock, store })));
  return { url: server.url, store, clock };
}

/** Plans what the store does for `planned`, and gives found orders something to find. */
export function prepare(store: PlannedStore, planned: Planned, gate?: Deferred<void>): void {
  if (planned.key === undefined) return;
  store.plan(planned.key, { ms: planned.ms, fails: planned.outcome === 'fails', gate });
  if (planned.key.startsWith('find:') && planned.outcome === 'ok') {
    store.add({ id: planned.key.slice('find:'.length), customerId: random.id('cust-'), item: random.word(), quantity: random.int(1, 5) });
  }
}

/** Sends `planned` and fails in words unless the API answers the status the README gives. */
export async function send(url: string, planned: Planned): Promise<void> {
  const response = await httpRequest(`${url}${planned.path}`, {
    method: planned.method,
    headers: planned.body === undefined ? {} : { 'content-type': 'application/json' },
    ...(planned.body === undefined ? {} : { body: planned.body }),
    timeoutMs: ANSWER_MS,
  }).catch((error: unknown) => fail(`${planned.method} ${planned.path} got no answer (${(error as Error).message}): does measureRequest resolve once serve() has?`));
  if (response.status !== planned.status) {
    fail(
      `${describe(planned)} was answered ${response.status}, expected ${planned.status}: ` +
        'measureRequest must resolve to what serve() resolves to and let a rejection go on to the server, which answers 500',
    );
  }
}

/** Plans and sends each request in turn. */
export async function sendAll(url: string, store: PlannedStore, plan: readonly Planned[]): Promise<void> {
  for (const planned of plan) {
    prepare(store, planned);
    await send(url, planned);
  }
}

export function describe(planned: Planned): string {
  const what = { ok: '', missing: ' (no such order)', invalid: ' (invalid)', fails: ' (the store fails)', unmatched: ' (no route matches)' }[planned.outcome];
  return `${planned.method} ${planned.path}${what}`;
}

// ---- the README's metrics rules -------------------------------------------------------------

/** The bucket a duration falls in: the first whose upper boundary is at least the value (the last bucket has none). */
export function bucketOf(seconds: number): number {
  const index = BUCKETS.findIndex((bound) => seconds <= bound);
  return index === -1 ? BUCKETS.length : index;
}

/** The attributes of a request's http.server.request.duration point (absent() where the README says none). */
export function durationAttributes(planned: Planned): Record<string, AttributeValue | ReturnType<typeof absent>> {
  return {
    'http.request.method': planned.method,
    'url.scheme': 'http',
    'http.route': planned.route ?? absent(),
    'http.response.status_code': planned.status,
    'error.type': planned.status >= 500 ? String(planned.status) : absent(),
  };
}

export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

export function counterAttributes(planned: Planned): Record<string, AttributeValue | ReturnType<typeof absent>> {
  return {
    'http.request.method': planned.method,
    'http.route': planned.route ?? absent(),
    [STATUS_CLASS]: statusClass(planned.status),
  };
}

/** The requests of a plan grouped by the series the README puts them in. */
export function groupBy(plan: readonly Planned[], key: (planned: Planned) => string): Map<string, Planned[]> {
  const groups = new Map<string, Planned[]>();
  for (const planned of plan) groups.set(key(planned), [...(groups.get(key(planned)) ?? []), planned]);
  return groups;
}

export const durationSeries = (p: Planned): string => `${p.method} ${p.route ?? '(no route)'} answered ${p.status}`;
export const counterSeries = (p: Planned): string => `${p.method} ${p.route ?? '(no route)'} answered ${statusClass(p.status)}`;

/** The points of a metric, in words, for a failure message. */
export function describePoints(metric: MetricData, limit = 6): string {
  const points = metric.points as { attributes: Attributes }[];
  if (points.length === 0) return 'it has no points';
  const shown = points.slice(0, limit).map((p) => describeAttributes(p.attributes));
  return `its ${points.length === 1 ? 'point' : `${points.length} points`}: ${shown.join(', ')}${points.length > limit ? ', …' : ''}`;
}

/** Why a sum of durations is off, when the reason can be seen from the numbers. */
export function durationHint(actual: number, expected: number): string {
  if (expected > 0 && Math.abs(actual / expected - 1000) < 1) return ': 1000 times too much, the unit is seconds ("s"): divide milliseconds by 1000';
  if (expected > 0 && actual < expected / 100) return ': far too little, measure on the clock measureRequest is given, never Date.now() or performance.now()';
  return ': measure on the clock measureRequest is given, from just before serve() to just after it ends, in seconds';
}

/** "1 request", "3 requests". */
export function requestsText(count: number): string {
  return count === 1 ? '1 request' : `${count} requests`;
}

/** Sums the histogram points matching `attributes`. */
export function histogramTotals(metric: HistogramMetric, attributes: Record<string, AttributeValue | ReturnType<typeof absent>>) {
  const points = pointsWhere(metric, attributes);
  return {
    points,
    count: points.reduce((sum, p) => sum + p.count, 0),
    sum: points.reduce((sum, p) => sum + p.sum, 0),
    counts: points.reduce<number[]>((sum, p) => p.counts.map((c, i) => c + (sum[i] ?? 0)), []),
  };
}

/** Every attribute value of every point of these metrics, with where it was found. */
export function attributeValues(all: readonly (NumberMetric | HistogramMetric)[]): { metric: string; key: string; value: AttributeValue; point: Attributes }[] {
  return all.flatMap((metric) =>
    (metric.points as { attributes: Attributes }[]).flatMap((p) =>
      Object.entries(p.attributes)
        .filter((entry): entry is [string, AttributeValue] => entry[1] !== undefined)
        .map(([key, value]) => ({ metric: metric.name, key, value, point: p.attributes })),
    ),
  );
}

export function showValue(value: AttributeValue): string {
  return show(value);
}

/** Waits until the store has received `count` calls (requests reach it after their body is read). */
export async function storeReached(store: PlannedStore, count: number): Promise<void> {
  const deadline = performance.now() + ANSWER_MS;
  while (store.calls.length < count && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
  if (store.calls.length < count) fail(`only ${store.calls.length} of ${count} requests reached the order store: does measureRequest call serve() once, and at once?`);
}


type Expected = Record<string, AttributeValue | ReturnType<typeof absent>>;

/** Each attribute's rule, as the README states it. */
const RULES: Record<string, string> = {
  'http.request.method': 'the request\'s method',
  'url.scheme': '"http"',
  'http.route': 'the route template; none when no route matched',
  'http.response.status_code': 'the status code, a number',
  'error.type': 'the status code as text, and only for a 5xx',
  [STATUS_CLASS]: '"2xx", "4xx" or "5xx"',
};

function valueText(value: AttributeValue | ReturnType<typeof absent> | undefined): string {
  if (value === undefined) return 'none';
  if (typeof value === 'object' && value !== null && 'describe' in value) return 'none';
  return show(value);
}

/**
 * Why no point has the attributes a series expects: the points that differ in one attribute only,
 * and what that attribute holds instead; otherwise the points there are.
 */
export function whyMissing(metric: MetricData, expected: Expected): string {
  // What describes a series (error.type, url.scheme, the class) is suspected before what names it.
  const order = ['error.type', 'url.scheme', STATUS_CLASS, 'http.route', 'http.response.status_code', 'http.request.method'];
  const keys = Object.keys(expected).sort((a, b) => order.indexOf(a) - order.indexOf(b));
  for (const key of keys) {
    const relaxed = Object.fromEntries(Object.entries(expected).filter(([k]) => k !== key));
    const near = pointsWhere(metric, relaxed) as { attributes: Attributes }[];
    if (near.length > 0) {
      const values = [...new Set(near.map((p) => valueText(p.attributes[key])))];
      return `its points that match in every other attribute have ${key}=${values.join(' or ')}, expected ${valueText(expected[key])} (${key} is ${RULES[key] ?? 'in the README'})`;
    }
  }
  return describePoints(metric);
}
