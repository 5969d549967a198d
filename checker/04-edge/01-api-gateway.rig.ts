/**
 * The rig of the api-gateway checks: the learner's gateway on loopback in front of two instances
 * of each of two upstream services (fake services on loopback, whose answers the checks script),
 * a token issuer with a key pair generated per run, a fake clock for the buckets and breakers,
 * and the traces of the gateway's requests in the order they were sent.
 * The code under test is handed in by the checker file (the only one that imports #target).
 */
import { closeAfter, createJwtIssuer, fail, random, type JwtIssuer, type SpanShape, type TraceHarness, type TraceTree } from '#checks';
import { FakeClock, httpRequest, startFakeService, startHttpServer, type FakeService, type FakeServiceReply } from '#kit';
import type { createGateway } from '#target/04-edge/01-api-gateway/gateway.ts';

/** What the checker file hands in: the learner's factory and the harness. */
export interface Target {
  createGateway: typeof createGateway;
  otel: TraceHarness;
}

/** Well under the per-check limit, so a request that never gets an answer fails as a check, not as a hang. */
const ANSWER_MS = 1500;

export const CLIENT_ID = 'app.client.id';

let issuer: Promise<JwtIssuer> | undefined;
/** One key pair per run of the checker file. */
export function tokens(): Promise<JwtIssuer> {
  issuer ??= createJwtIssuer();
  return issuer;
}

export const bearer = (token: string): string => `Bearer ${token}`;

/** One instance of an upstream service: answers `{ upstream, path }`, or the status the check sets. */
export class Upstream {
  private constructor(
    readonly name: string,
    readonly route: string,
    readonly service: FakeService,
    private readonly scripted: { mode: 'ok' | number },
  ) {}

  static async start(name: string, route: string): Promise<Upstream> {
    const scripted: { mode: 'ok' | number } = { mode: 'ok' };
    const service = await startFakeService({
      name,
      route,
      reply: (request): FakeServiceReply =>
        scripted.mode === 'ok'
          ? { body: { upstream: name, path: request.url } }
          : { status: scripted.mode, body: { error: `${name} answers ${scripted.mode}, as the check scripted` } },
    });
    return new Upstream(name, route, closeAfter(service), scripted);
  }

  /** `ok` answers 200 with `{ upstream, path }`; a number answers that status. */
  get mode(): 'ok' | number {
    return this.scripted.mode;
  }

  set mode(mode: 'ok' | number) {
    this.scripted.mode = mode;
  }

  get port(): number {
    return Number(new URL(this.service.url).port);
  }

  get hits(): number {
    return this.service.requests.length;
  }

  /** Stops the instance: from now on a connection to it is refused. */
  stop(): Promise<void> {
    return this.service.close();
  }

  /** The upstream's own SERVER span, which continues the gateway's CLIENT span. */
  serverShape(): SpanShape {
    return { name: `GET ${this.route}`, kind: 'server', scope: `tracecraft.${this.name}` };
  }
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body parsed as JSON, or the text when it is not JSON. */
  body: unknown;
}

export interface GatewayOptions {
  capacity?: number;
  refillEveryMs?: number;
  failureThreshold?: number;
  coolDownMs?: number;
}

export class Gateway {
  readonly users: readonly [Upstream, Upstream];
  readonly orders: readonly [Upstream, Upstream];

  private constructor(
    private readonly target: Target,
    readonly url: string,
    readonly clock: FakeClock,
    readonly issuer: JwtIssuer,
    upstreams: readonly Upstream[],
    readonly options: Required<GatewayOptions>,
  ) {
    const [u1, u2, o1, o2] = upstreams as [Upstream, Upstream, Upstream, Upstream];
    this.users = [u1, u2];
    this.orders = [o1, o2];
  }

  /**
   * Starts the learner's gateway with routes `/users` and `/orders`, two instances each. The rate
   * limit is generous unless the check says otherwise, so only the rate-limit checks meet it.
   */
  static async start(target: Target, options: GatewayOptions = {}): Promise<Gateway> {
    const settings: Required<GatewayOptions> = {
      capacity: options.capacity ?? 1000,
      refillEveryMs: options.refillEveryMs ?? 1000,
      failureThreshold: options.failureThreshold ?? 3,
      coolDownMs: options.coolDownMs ?? 10_000,
    };
    const suffix = () => random.int(1, 9);
    const [usersA, usersB, ordersA, ordersB] = [`users-a${suffix()}`, `users-b${suffix()}`, `orders-a${suffix()}`, `orders-b${suffix()}`];
    const upstreams = await Promise.all([
      Upstream.start(usersA, '/users/*'),
      Upstream.start(usersB, '/users/*'),
      Upstream.start(ordersA, '/orders/*'),
      Upstream.start(ordersB, '/orders/*'),
    ]);
    const [u1, u2, o1, o2] = upstreams as [Upstream, Upstream, Upstream, Upstream];
    const clock = new FakeClock(random.int(0, 1_000_000));
    const issuer = await tokens();
    const handler = target.createGateway({
      routes: [
        { prefix: '/users', service: 'users', instances: [u1.service.url, u2.service.url] },
        { prefix: '/orders', service: 'orders', instances: [o1.service.url, o2.service.url] },
      ],
      publicKey: issuer.publicKey,
      rateLimit: { capacity: settings.capacity, refillEveryMs: settings.refillEveryMs },
      breaker: { failureThreshold: settings.failureThreshold, coolDownMs: settings.coolDownMs },
      clock,
    });
    const server = closeAfter(await startHttpServer(handler));
    return new Gateway(target, server.url, clock, issuer, upstreams, settings);
  }

  /** A valid token for `client`, as an Authorization header value. */
  async authorization(client: string): Promise<string> {
    return bearer(await this.issuer.issue(client));
  }

  /** Sends `GET path` to the gateway with this Authorization header (none when undefined). */
  async get(path: string, authorization: string | undefined): Promise<Reply> {
    const headers = authorization === undefined ? {} : { authorization };
    const response = await httpRequest(`${this.url}${path}`, { headers, timeoutMs: ANSWER_MS }).catch((error: unknown) =>
      fail(`GET ${path} got no answer from the gateway (${(error as Error).message}): does it answer every request?`),
    );
    let body: unknown = response.body;
    try {
      body = JSON.parse(response.body);
    } catch {
      // not JSON: the checks that read the body say so
    }
    return { status: response.status, headers: response.headers, body };
  }

  get upstreams(): Upstream[] {
    return [...this.users, ...this.orders];
  }

  /** Requests every upstream instance received so far. */
  totalHits(): number {
    return this.upstreams.reduce((sum, upstream) => sum + upstream.hits, 0);
  }

  /** The instance that answered, read from an upstream's answer body. */
  answeredBy(reply: Reply): string | undefined {
    const upstream = (reply.body as { upstream?: unknown } | undefined)?.upstream;
    return typeof upstream === 'string' ? upstream : undefined;
  }

  /**
   * The traces of the gateway's requests, in the order the requests were sent: every trace with a
   * root SERVER span that is not one of the upstreams' own.
   */
  async requestTraces(): Promise<TraceTree[]> {
    await this.target.otel.settled();
    const upstreamScopes = new Set(this.upstreams.map((u) => `tracecraft.${u.name}`));
    return this.target.otel
      .traces()
      .filter((t) => t.roots.some((root) => root.kind === 'server' && !upstreamScopes.has(root.scope)))
      .sort((a, b) => a.startEpochMs - b.startEpochMs);
  }

  /** The trace of the last request sent. */
  async lastTrace(what: string): Promise<TraceTree> {
    const traces = await this.requestTraces();
    const last = traces.at(-1);
    if (!last) fail(`${what}: the gateway recorded no SERVER span (a root span of kind SERVER for each request it serves)`);
    return last;
  }
}

/** The CLIENT spans of a trace, in start order. */
export function clientSpans(trace: TraceTree): TraceTree['spans'] {
  return trace.spans.filter((span) => span.kind === 'client');
}
