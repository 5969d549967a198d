/*
 * The sidecar's own SDK: its spans leave the process over OTLP/HTTP, under its own service.name.
 */

/** Registers the SDK for the whole process, configured by the standard OTEL_* variables. */
export function startTelemetry(): void {
  // TODO: a NodeTracerProvider whose resource says OTEL_SERVICE_NAME (the env detector reads it),
  //       with a BatchSpanProcessor around an OTLPTraceExporter (@opentelemetry/exporter-trace-otlp-http),
  //       both given no options; then register() it. Until then, every span of the sidecar is a no-op.
}
