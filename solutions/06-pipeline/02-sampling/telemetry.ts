/*
 * The SDK of one service: who it is (the resource), which traces it keeps (the sampler) and where
 * the kept spans go (a batch processor around the exporter it is given).
 */
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { createSampler } from './sampling.ts';

export interface TracingOptions {
  /** The `service.name` every span of this service carries. */
  serviceName: string;
  /** The share of traces kept where a trace starts: 0.25 keeps one in four. */
  ratio: number;
  /** Where kept spans go: an OTLPTraceExporter in main.ts, the checks' own exporter in the checks. */
  exporter: SpanExporter;
}

/**
 * The tracer provider of one service. It is not registered as the global provider: two services
 * share this process, and each asks its own provider for its tracer.
 */
export function createTracerProvider({ serviceName, ratio, exporter }: TracingOptions): BasicTracerProvider {
  return new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName })),
    sampler: createSampler(ratio),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
}
