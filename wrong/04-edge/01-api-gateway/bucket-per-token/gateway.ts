import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';
import type { CryptoKey } from 'jose';
import { httpRequest, readBody, type Clock, type HttpHandler } from '#kit';
import { AuthError, authenticate } from './auth.ts';
import { Balancer, type Instance } from './balancer.ts';
import { TokenBuckets } from './token-bucket.ts';

const tracer = trace.getTracer('tracecraft.gateway');

export const ATTR_CLIENT_ID = 'app.client.id';

export interface ServiceRoute {
  /** Requests whose path is `prefix` or starts with `prefix/` go to this service: `/users`. */
  prefix: string;
  service: string;
  /** The base URLs of the service's instances. */
  instances: string[];
}

export interface GatewayConfig {
  routes: ServiceRoute[];
  /** The ES256 public key that verifies the clients' tokens. */
  publicKey: CryptoKey;
  rateLimit: { capacity: number; refillEveryMs: number };
  breaker: { failureThreshold: number; coolDownMs: number };
  clock: Clock;
}

/** What the gateway answers, its own answers and the upstreams' alike. */
interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Why the gateway itself failed the request (5xx only): the SERVER span's error.type. */
  errorType?: string;
}

interface Service {
  route: ServiceRoute;
  /** The route template, `/users/*`: low-cardinality, so it names the spans. */
  template: string;
  balancer: Balancer;
}

export function createGateway(config: GatewayConfig): HttpHandler {
  const limiter = new TokenBuckets({ ...config.rateLimit, clock: config.clock });
  const services: Service[] = config.routes.map((route) => ({
    route,
    template: `${route.prefix}/*`,
    balancer: new Balancer(route.instances, { ...config.breaker, clock: config.clock }),
  }));

  return async (request, response) => {
    const method = request.method ?? 'GET';
    const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
    const service = services.find(({ route }) => path === route.prefix || path.startsWith(`${route.prefix}/`));
    const attributes = { [ATTR_HTTP_REQUEST_METHOD]: method, ...(service && { [ATTR_HTTP_ROUTE]: service.template }) };
    const name = service ? `${method} ${service.template}` : method;
    await tracer.startActiveSpan(name, { kind: SpanKind.SERVER, attributes }, async (span) => {
      try {
        const answer = service ? await handle(span, request, service) : refuse(404, 'route_not_found');
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, answer.status);
        // 401, 404 and 429 are the gateway doing its job; only a 5xx is this server failing.
        if (answer.errorType !== undefined) {
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.setAttribute(ATTR_ERROR_TYPE, answer.errorType);
        }
        send(response, answer);
      } finally {
        span.end();
      }
    });
  };

  async function handle(span: Span, request: IncomingMessage, service: Service): Promise<Answer> {
    let clientId: string;
    try {
      clientId = await traceAuth(request.headers.authorization);
    } catch (error) {
      if (error instanceof AuthError) return refuse(401, error.reason);
      throw error;
    }
    span.setAttribute(ATTR_CLIENT_ID, clientId);
    // One bucket per client: the verified `sub`, never the token (a client holds many tokens over a day).
    const taken = limiter.take(request.headers.authorization ?? clientId);
    if (!taken.allowed) return refuse(429, 'rate_limited', { 'retry-after': String(Math.ceil(taken.retryAfterMs / 1000)) });
    return forward(request, await readBody(request), service);
  }

  function traceAuth(authorization: string | undefined): Promise<string> {
    return tracer.startActiveSpan('auth', async (span) => {
      try {
        return await authenticate(authorization, config.publicKey);
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute(ATTR_ERROR_TYPE, error instanceof AuthError ? error.reason : 'internal');
        throw error;
      } finally {
        span.end();
      }
    });
  }
}

/** Tries the service's instances in round-robin order, skipping those whose breaker is open. */
async function forward(request: IncomingMessage, body: string, service: Service): Promise<Answer> {
  let attempts = 0;
  for (const instance of service.balancer.order()) {
    // An open breaker refuses without a call: that is no attempt, and it makes no span.
    if (!instance.breaker.tryAcquire()) continue;
    const answer = await attempt(instance, request, body, service.template, attempts++);
    // A 4xx is the client's business: the instance is healthy, and another one would answer the same.
    if (answer !== undefined && answer.status < 500) {
      instance.breaker.succeeded();
      return answer;
    }
    instance.breaker.failed();
  }
  return attempts === 0 ? refuse(503, 'circuit_open') : refuse(502, 'upstream_failed');
}

/** One call to one instance, as a CLIENT span; resolves undefined when no answer came. */
function attempt(instance: Instance, request: IncomingMessage, body: string, template: string, resends: number): Promise<Answer | undefined> {
  const method = request.method ?? 'GET';
  const target = new URL(request.url ?? '/', instance.url);
  const attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: method,
    [ATTR_SERVER_ADDRESS]: target.hostname,
    [ATTR_SERVER_PORT]: Number(target.port),
    [ATTR_URL_FULL]: target.href,
    ...(resends > 0 && { [ATTR_HTTP_REQUEST_RESEND_COUNT]: resends }),
  };
  return tracer.startActiveSpan(`${method} ${template}`, { kind: SpanKind.CLIENT, attributes }, async (span): Promise<Answer | undefined> => {
    try {
      // Injected inside the CLIENT span, so the upstream's SERVER span becomes its child.
      const headers: Record<string, string> = {};
      propagation.inject(context.active(), headers);
      const contentType = request.headers['content-type'];
      if (contentType !== undefined) headers['content-type'] = contentType;
      const answer = await httpRequest(target, { method, headers, body });
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, answer.status);
      if (answer.status >= 400) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute(ATTR_ERROR_TYPE, String(answer.status));
      }
      const type = answer.headers['content-type'];
      return { status: answer.status, headers: type === undefined ? {} : { 'content-type': type }, body: answer.body };
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute(ATTR_ERROR_TYPE, failureType(error));
      return undefined;
    } finally {
      span.end();
    }
  });
}

/** The system's error code when there is one (`ECONNREFUSED`), else the error's name. */
function failureType(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.name : 'unknown';
}

function refuse(status: number, reason: string, headers: Record<string, string> = {}): Answer {
  const answer: Answer = { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ error: reason }) };
  if (status >= 500) answer.errorType = reason;
  return answer;
}

function send(response: ServerResponse, answer: Answer): void {
  response.writeHead(answer.status, answer.headers).end(answer.body);
}
