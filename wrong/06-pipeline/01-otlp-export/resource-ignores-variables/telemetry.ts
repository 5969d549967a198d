/*
 * The SDK setup of the orders service: who sends the spans (the resource), how they leave the
 * process (a batch processor and the OTLP/HTTP exporter), and where to (the standard OTEL_* variables).
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

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
  // a.merge(b): b's attributes win. The variables come last, so the deployment has the last word.
  return defaultResource()
    .merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: SERVICE_DEFAULTS.name,
        [ATTR_SERVICE_VERSION]: SERVICE_DEFAULTS.version,
        [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: SERVICE_DEFAULTS.environment,
      }),
    );
}

/** Registers the SDK for the whole process: spans made through @opentelemetry/api are exported from now on. */
export function startTelemetry(): Telemetry {
  const provider = new NodeTracerProvider({
    resource: createResource(),
    // No options: the exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and _HEADERS) and appends /v1/traces;
    // the processor buffers spans and sends them in batches, in the background.
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // The AsyncLocalStorage context manager and the W3C propagator, and the provider behind the API.
  provider.register();
  return provider;
}
