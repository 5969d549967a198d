/*
 * The SDK setup of the orders service: who sends the spans (the resource), how they leave the
 * process (a batch processor and the OTLP/HTTP exporter), and where to (the standard OTEL_* variables).
 */
import { defaultResource, type Resource } from '@opentelemetry/resources';

// Still incubating in the semantic conventions (not in the stable entry point): copied here.
export const ATTR_DEPLOYMENT_ENVIRONMENT_NAME = 'deployment.environment.name';

/** What the service says about itself when no variable says otherwise. */
export const SERVICE_DEFAULTS = { name: 'orders', version: '1.4.0', environment: 'development' } as const;

/** The SDK as the service sees it: what to call before the process exits. */
export interface Telemetry {
  /** Sends every span ended so far and still buffered. */
  forceFlush(): Promise<void>;
  /** Sends every buffered span, then stops the SDK: spans ended later are dropped. */
  shutdown(): Promise<void>;
}

/**
 * The resource every span of this process carries: the defaults above, overridden by
 * OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
 */
export function createResource(): Resource {
  // TODO: service.name, service.version and deployment.environment.name from SERVICE_DEFAULTS,
  //       overridden by what the env detector reads (detectResources({ detectors: [envDetector] })).
  return defaultResource();
}

/** Registers the SDK for the whole process: spans made through @opentelemetry/api are exported from now on. */
export function startTelemetry(): Telemetry {
  // TODO: a NodeTracerProvider with createResource() and a BatchSpanProcessor around an
  //       OTLPTraceExporter (from @opentelemetry/exporter-trace-otlp-http); register it; return it.
  return { forceFlush: async () => {}, shutdown: async () => {} };
}
