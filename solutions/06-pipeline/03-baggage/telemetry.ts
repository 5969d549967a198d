/*
 * The SDK of one service: who it is (the resource), what every span is given when it starts (the
 * baggage processor) and where spans go (a batch processor around the exporter it is given).
 */
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { TENANT_ID } from './baggage-keys.ts';
import { BaggageSpanProcessor } from './baggage-span-processor.ts';

/** The baggage entries every span carries as attributes. Not the user: personal data stays out of the tracing backend. */
export const COPIED_TO_SPANS: readonly string[] = [TENANT_ID];

export interface TracingOptions {
  /** The `service.name` every span of this service carries. */
  serviceName: string;
  /** Where spans go: an OTLPTraceExporter in main.ts, the checks' own exporter in the checks. */
  exporter: SpanExporter;
}

/** The tracer provider of one service; not registered as the global one (two services share this process). */
export function createTracerProvider({ serviceName, exporter }: TracingOptions): BasicTracerProvider {
  return new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName })),
    spanProcessors: [new BaggageSpanProcessor(COPIED_TO_SPANS), new BatchSpanProcessor(exporter)],
  });
}
