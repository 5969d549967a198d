/*
 * Both services and a stand-in for the payment provider in one process, exporting to a real
 * collector (see "Point it at a real collector" in the README). It places a few orders for two
 * tenants, prints what the payment provider received, flushes and exits:
 *
 *   OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 node --import tsx exercises/06-pipeline/03-baggage/main.ts
 */
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { httpRequest, startHttpServer } from '#kit';
import { startGateway } from './gateway.ts';
import { startOrders } from './orders.ts';
import { createTracerProvider } from './telemetry.ts';

// What provider.register() installs in a service of its own: here two providers share one process.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));

const gatewayProvider = createTracerProvider({ serviceName: 'gateway', exporter: new OTLPTraceExporter() });
const ordersProvider = createTracerProvider({ serviceName: 'orders', exporter: new OTLPTraceExporter() });

let charges = 0;
const payments = await startHttpServer((request, response) => {
  console.log(`the payment provider received: traceparent ${request.headers['traceparent'] ?? '-'}, baggage ${request.headers['baggage'] ?? '-'}`);
  response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ chargeId: `ch-${++charges}` }));
});
const orders = await startOrders({ tracer: ordersProvider.getTracer('tracecraft.orders'), paymentsUrl: payments.url });
const gateway = await startGateway({ tracer: gatewayProvider.getTracer('tracecraft.gateway'), ordersUrl: orders.url });

for (const [tenant, user] of [['acme', 'ada'], ['globex', 'grace'], ['acme', 'alan']] as const) {
  const answer = await httpRequest(`${gateway.url}/checkout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tenant-id': tenant, 'x-user-id': user },
    body: JSON.stringify({ sku: 'sku-1', quantity: 1 }),
  });
  console.log(`${tenant}/${user}: ${answer.status} ${answer.body}`);
}
await Promise.all([gatewayProvider.shutdown(), ordersProvider.shutdown()]);
await Promise.all([gateway.close(), orders.close(), payments.close()]);
