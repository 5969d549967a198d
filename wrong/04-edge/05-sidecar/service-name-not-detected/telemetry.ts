/*
 * The sidecar's own SDK: its spans leave the process over OTLP/HTTP, under its own service.name.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** Registers the SDK for the whole process, configured by the standard OTEL_* variables. */
export function startTelemetry(): void {
  const provider = new NodeTracerProvider({
    // No resource: the SDK's default one, which surely reads OTEL_SERVICE_NAME.
    // No options: the exporter reads OTEL_EXPORTER_OTLP_ENDPOINT, the processor OTEL_BSP_SCHEDULE_DELAY.
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // The W3C propagator (traceparent) and the AsyncLocalStorage context manager come with it.
  provider.register();
}
