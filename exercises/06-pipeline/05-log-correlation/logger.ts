/*
 * The service's logger: pino's JSON lines, each carrying the trace context of the span that was
 * active when it was written, so a backend can jump from a log line to its trace and back.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/** A logger that writes one JSON line per call to `destination`, from level info up. */
export function createLogger(destination: DestinationStream): Logger {
  // TODO: give every line the trace_id, span_id and trace_flags of the span active when the line is
  //       written (and no trace field at all outside a span): a pino mixin, from @opentelemetry/api.
  return pino({}, destination);
}
