/*
 * The rig of the baggage checks: the learner's gateway and orders service on loopback, each with a
 * tracer provider the learner's createTracerProvider builds around the checks' exporter, and a
 * stand-in for the payment provider (the third party) that remembers every header it was sent.
 */
import type { BasicTracerProvider, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterCheck, closeAfter, fail, random } from '#checks';
import { httpRequest, readBody, startHttpServer, type LoopbackServer } from '#kit';
import type { GatewayOptions } from '#target/06-pipeline/03-baggage/gateway.ts';
import type { OrdersOptions } from '#target/06-pipeline/03-baggage/orders.ts';
import type { TracingOptions } from '#target/06-pipeline/03-baggage/telemetry.ts';

export const CHECKOUT = 'POST /checkout';
export const ORDERS = 'POST /orders';
export const CHARGES = 'POST /charges';
const ANSWER_MS = 2000;

/** What the checker imports from the learner's files. */
export interface Learner {
  createTracerProvider(options: TracingOptions): BasicTracerProvider;
  startGateway(options: GatewayOptions): Promise<LoopbackServer>;
  startOrders(options: OrdersOptions): Promise<LoopbackServer>;
}

/** One request the payment provider received. */
export interface ThirdPartyCall {
  path: string;
  headers: Record<string, string>;
  orderId: unknown;
  chargeId: string;
}

export interface Services {
  names: { gateway: string; orders: string };
  gatewayUrl: string;
  /** What the payment provider received, in arrival order. */
  thirdParty: ThirdPartyCall[];
  /** Sends every span the two providers still buffer to the checks' exporter. */
  flush(): Promise<void>;
}

export interface Caller {
  tenant: string;
  user: string;
  sku: string;
  quantity: number;
}

export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** Both services, each with its own provider exporting to `exporter`, and the payment provider; all stopped when the check ends. */
export async function startServices(learner: Learner, exporter: SpanExporter): Promise<Services> {
  const suffix = random.word(4);
  const names = { gateway: `gateway-${suffix}`, orders: `orders-${suffix}` };
  const gatewayProvider = learner.createTracerProvider({ serviceName: names.gateway, exporter });
  const ordersProvider = learner.createTracerProvider({ serviceName: names.orders, exporter });
  afterCheck(() => Promise.all([gatewayProvider.shutdown(), ordersProvider.shutdown()]));
  const thirdParty: ThirdPartyCall[] = [];
  const payments = closeAfter(
    await startHttpServer(async (request, response) => {
      const headers = Object.fromEntries(Object.entries(request.headers).map(([key, value]) => [key, String(value)]));
      let orderId: unknown;
      try {
        orderId = (JSON.parse(await readBody(request)) as Record<string, unknown>)['orderId'];
      } catch {
        // not JSON: the checks of the answer say what is missing
      }
      const chargeId = random.id('ch-');
      thirdParty.push({ path: request.url ?? '/', headers, orderId, chargeId });
      response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ chargeId }));
    }),
  );
  const orders = closeAfter(await learner.startOrders({ tracer: ordersProvider.getTracer('tracecraft.orders'), paymentsUrl: payments.url }));
  const gateway = closeAfter(await learner.startGateway({ tracer: gatewayProvider.getTracer('tracecraft.gateway'), ordersUrl: orders.url }));
  return {
    names,
    gatewayUrl: gateway.url,
    thirdParty,
    flush: async () => {
      await Promise.all([gatewayProvider.forceFlush(), ordersProvider.forceFlush()]);
    },
  };
}

/** Callers of different tenants (two of them the same tenant, different users), each buying a random sku. */
export function callers(count: number): Caller[] {
  const tenants = Array.from({ length: count - 1 }, () => random.id('tenant-'));
  return [...tenants, tenants[0] as string].map((tenant) => ({ tenant, user: random.id('user-'), sku: random.id('sku-'), quantity: random.int(1, 5) }));
}

/** A checkout through the gateway, with the headers the authentication proxy in front of it sets. */
export async function checkout(services: Services, caller: Caller): Promise<Reply> {
  const response = await httpRequest(`${services.gatewayUrl}/checkout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tenant-id': caller.tenant, 'x-user-id': caller.user },
    body: JSON.stringify({ sku: caller.sku, quantity: caller.quantity }),
    timeoutMs: ANSWER_MS,
  }).catch((error: unknown) => fail(`POST /checkout on the gateway got no answer (${(error as Error).message}): do both services still answer every request?`));
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(response.body) as Record<string, unknown>;
  } catch {
    // not JSON: the checks of the answer say what they miss
  }
  return { status: response.status, body };
}

/** The entries of a W3C baggage header, as key=value (metadata after `;` dropped). */
export function baggageEntries(header: string | undefined): string[] {
  if (header === undefined) return [];
  return header
    .split(',')
    .map((member) => member.split(';')[0]?.trim() ?? '')
    .filter((member) => member !== '')
    .map((member) => decodeURIComponent(member));
}
