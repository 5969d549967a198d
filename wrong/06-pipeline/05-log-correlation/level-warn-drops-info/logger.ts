/*
 * The service's logger: pino's JSON lines, each carrying the trace context of the span that was
 * active when it was written, so a backend can jump from a log line to its trace and back.
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * The active span's context in the fields OpenTelemetry specifies for logs that are not OTLP:
 * ids in lowercase hex, the flags as two hex digits ("01" sampled, "00" not). None outside a span.
 */
export function traceFields(): Record<string, string> {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return {};
  return {
    trace_id: spanContext.traceId,
    span_id: spanContext.spanId,
    trace_flags: spanContext.traceFlags.toString(16).padStart(2, '0'),
  };
}

/** A logger that writes one JSON line per call to `destination`, from level info up. */
export function createLogger(destination: DestinationStream): Logger {
  // A mixin runs for every line, child loggers' included: each line gets the span active at that moment.
  return pino({ level: 'warn', mixin: traceFields }, destination);
}
