/**
 * The workshop export: every graded run, and the traces its checks recorded, sent as OTLP to the
 * instructor's Collector or backend with OpenTelemetry's own BatchSpanProcessor and OTLP/HTTP
 * exporter. It runs beside the feedback, never before it: spans are queued after the verdict is on
 * the screen and sent in the background, each export has a short time limit, and a backend that is
 * down or slow is said once, in one line, and changes nothing else.
 *
 * Loaded only when export is on (see export-settings.ts), so a `check` with export off never pays
 * for the exporter packages.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OFF_VARIABLE, type ExportSettings } from './export-settings.ts';

export interface ExportOptions {
  settings: ExportSettings;
  /** The time limit of one export, retries included (ms). */
  timeoutMs: number;
  /** How long spans wait in the batch before they are sent (ms); `flush` sends at once. */
  delayMs: number;
  /** Told once, the first time the backend could not be reached: one line for the learner. */
  onProblem(line: string): void;
}

export interface WorkshopExport {
  /** Queues spans (a run's, from RunSpans); returns at once. */
  send(spans: readonly ReadableSpan[]): void;
  /** Sends what is queued, and resolves within `capMs` (default: the export time limit) whatever the backend does. */
  flush(capMs?: number): Promise<void>;
  /** The problem line, once there has been one. */
  readonly problem: string | undefined;
}

export const EXPORT_PROBLEMS = {
  line: (url: string, reason: string) =>
    `tracecraft: could not send results to ${url}: ${reason}. Grading is not affected; to stop sending, add --no-export or set ${OFF_VARIABLE}=off.`,
  refused: 'nothing answers there (connection refused)',
  unknownHost: 'the host name is unknown',
  timedOut: (ms: number) => `it did not answer within ${ms} ms`,
  status: (code: number) => `it answered HTTP ${code}`,
  retryable: 'it answered with an error to every try (HTTP 429 or 5xx)',
} as const;

/** What went wrong, in words: the exporter's errors carry a Node error code or an HTTP status. */
function reasonOf(error: Error | undefined, timeoutMs: number): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED') return EXPORT_PROBLEMS.refused;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return EXPORT_PROBLEMS.unknownHost;
  if (typeof code === 'number') return EXPORT_PROBLEMS.status(code);
  const message = error?.message ?? '';
  if (/timed? ?out/i.test(message) || code === 'ETIMEDOUT') return EXPORT_PROBLEMS.timedOut(timeoutMs);
  if (/retryable/i.test(message)) return EXPORT_PROBLEMS.retryable;
  return message === '' ? 'the export failed' : message;
}

/** The OTLP exporter, with every failed export reported to `onFailure`. */
class ObservedExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly onFailure: (error: Error | undefined) => void,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.onFailure(result.error);
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

export function startExport(options: ExportOptions): WorkshopExport {
  const { settings, timeoutMs } = options;
  let problem: string | undefined;
  const report = (reason: string): void => {
    if (problem !== undefined) return;
    problem = EXPORT_PROBLEMS.line(settings.url, reason);
    options.onProblem(problem);
  };
  // Headers come from OTEL_EXPORTER_OTLP_HEADERS, read by the exporter itself.
  const exporter = new ObservedExporter(new OTLPTraceExporter({ url: settings.url, timeoutMillis: timeoutMs }), (error) => report(reasonOf(error, timeoutMs)));
  const processor = new BatchSpanProcessor(exporter, {
    scheduledDelayMillis: options.delayMs,
    exportTimeoutMillis: timeoutMs + 250,
    maxQueueSize: 8192,
    maxExportBatchSize: 512,
  });
  return {
    send(spans) {
      for (const span of spans) processor.onEnd(span);
    },
    async flush(capMs = timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const cap = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), capMs);
        timer.unref();
      });
      // A failed export has been reported by the exporter already; only lateness is left to say.
      const outcome = await Promise.race([processor.forceFlush().then(() => 'done' as const, () => 'done' as const), cap]);
      clearTimeout(timer);
      if (outcome === 'late') report(EXPORT_PROBLEMS.timedOut(capMs));
    },
    get problem() {
      return problem;
    },
  };
}
