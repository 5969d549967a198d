/**
 * `check --trace-file out.json`: the run's spans as one OTLP JSON export request (what an OTLP/HTTP
 * exporter would send), written by OpenTelemetry's own serializer. The Jaeger UI ("Upload JSON")
 * and Grafana's Tempo data source ("Import trace") open it.
 */
import { writeFile } from 'node:fs/promises';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

export const TRACE_FILE_MESSAGES = {
  written: (file: string, spans: number) =>
    `The traces of this run are in ${file} (${spans} span${spans === 1 ? '' : 's'}, OTLP JSON): open it with "Upload JSON" in the Jaeger UI or "Import trace" in Grafana.`,
  failed: (file: string, reason: string) => `failed to write the trace file ${file}: ${reason}`,
} as const;

/** The spans as the text of an OTLP JSON ExportTraceServiceRequest. */
export function traceFileText(spans: ReadableSpan[]): string {
  const bytes = JsonTraceSerializer.serializeRequest(spans);
  return `${bytes ? Buffer.from(bytes).toString('utf8') : '{"resourceSpans":[]}'}\n`;
}

/** Writes the trace file; an error names the file. */
export async function writeTraceFile(file: string, spans: ReadableSpan[]): Promise<void> {
  try {
    await writeFile(file, traceFileText(spans));
  } catch (error) {
    throw new Error(TRACE_FILE_MESSAGES.failed(file, error instanceof Error ? error.message : String(error)));
  }
}
