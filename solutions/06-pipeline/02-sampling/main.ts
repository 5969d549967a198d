/*
 * Both services in one process, exporting to a real collector (see "Point it at a real collector"
 * in the README). It sends some traffic of its own, flushes, and exits:
 *
 *   OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 OTEL_TRACES_SAMPLER_ARG=0.25 \
 *   node --import tsx exercises/06-pipeline/02-sampling/main.ts
 */
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { httpRequest } from '#kit';
import { startShop } from './shop.ts';
import { startStock } from './stock.ts';
import { createTracerProvider } from './telemetry.ts';

// What provider.register() installs in a service of its own: here two providers share one process.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

// The standard variable of the SDK's own ratio sampler; a sampler built in code must read it itself.
const ratio = Number(process.env['OTEL_TRACES_SAMPLER_ARG'] ?? '0.25');
// Each exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318).
const shopProvider = createTracerProvider({ serviceName: 'shop', ratio, exporter: new OTLPTraceExporter() });
const stockProvider = createTracerProvider({ serviceName: 'stock', ratio, exporter: new OTLPTraceExporter() });

const stock = await startStock({ tracer: stockProvider.getTracer('tracecraft.stock'), levels: new Map([['sku-1', 1000]]) });
const shop = await startShop({ tracer: shopProvider.getTracer('tracecraft.shop'), stockUrl: stock.url });

const pages = 100;
const checkouts = 10;
for (let i = 0; i < pages; i++) await httpRequest(`${shop.url}/products/sku-1`);
for (let i = 0; i < checkouts; i++) {
  await httpRequest(`${shop.url}/checkout`, { method: 'POST', body: JSON.stringify({ sku: 'sku-1', quantity: 1 }) });
}
await Promise.all([shopProvider.shutdown(), stockProvider.shutdown()]);
await Promise.all([shop.close(), stock.close()]);
console.log(`sent ${pages} product pages and ${checkouts} checkouts at ratio ${ratio}: expect about ${Math.round(pages * ratio)} + ${checkouts} traces`);
