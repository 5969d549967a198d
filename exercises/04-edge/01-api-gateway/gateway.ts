import { trace } from '@opentelemetry/api';
import type { CryptoKey } from 'jose';
import { httpRequest, readBody, type Clock, type HttpHandler } from '#kit';

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

/**
 * The gateway's request handler. For now it is a plain proxy: every request goes to the first
 * instance of the first service, and nothing is traced.
 */
export function createGateway(config: GatewayConfig): HttpHandler {
  // TODO: build what lives as long as the gateway: a TokenBuckets for the clients (token-bucket.ts),
  //       a Balancer per service (balancer.ts), both on config.clock.
  void tracer;
  return async (request, response) => {
    // TODO: the pipeline of the README, each step inside the request's SERVER span:
    //       1. route by path prefix (404 when none matches);
    //       2. authenticate (auth.ts) in an `auth` span (401 with the reason);
    //       3. take a token for the client (429 with Retry-After);
    //       4. try the instances in round-robin order, skipping open breakers, one CLIENT span per
    //          attempt with traceparent injected (503 when no breaker lets a call through, 502 when
    //          every attempt failed).
    const instance = config.routes[0]?.instances[0];
    if (instance === undefined) {
      response.writeHead(404).end();
      return;
    }
    const answer = await httpRequest(new URL(request.url ?? '/', instance), { method: request.method ?? 'GET', body: await readBody(request) });
    response.writeHead(answer.status, { 'content-type': answer.headers['content-type'] ?? 'text/plain' }).end(answer.body);
  };
}
