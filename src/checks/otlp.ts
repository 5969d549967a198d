/**
 * The OTLP receiver wired into vitest's lifecycle: every check gets a fresh receiver on a port of
 * its own (so nothing a previous check's process sent late can arrive in this one), closed when the
 * check ends, and the traces it received are drawn with the check's verdict.
 */
import { beforeEach, onTestFinished, type TestContext } from 'vitest';
import type { OtlpReceiver, ReceiverOptions } from '../trace/otlp-receiver.ts';
import type { TraceTree } from '../trace/model.ts';
import { META } from './contract.ts';

export const OTLP_AUTHORING = {
  outsideCheck: (what: string) =>
    `useOtlpReceiver(): "${what}" was read outside a check. The receiver exists from the start of each check to its end; ` +
    'read it inside it() (or a beforeEach).',
} as const;

/**
 * Starts a receiver on 127.0.0.1 (see src/trace/otlp-receiver.ts). The module (and node:http) loads
 * on first use, so checker files that receive no OTLP do not pay for it.
 */
export async function startOtlpReceiver(options: ReceiverOptions = {}): Promise<OtlpReceiver> {
  const { startOtlpReceiver: start } = await import('../trace/otlp-receiver.ts');
  return start(options);
}

/**
 * Call once at the top of a checker file. The returned receiver stands for the current check's
 * own: `otlp.url` for `OTEL_EXPORTER_OTLP_ENDPOINT`, `otlp.waitForSpans(n)`, `otlp.traces()` for
 * `expectTrace(otlp.traces(), shape, concept)`, `otlp.setMode('down')`.
 */
export function useOtlpReceiver(options: ReceiverOptions = {}): OtlpReceiver {
  let current: OtlpReceiver | undefined;
  beforeEach(async (context: TestContext) => {
    const receiver = await startOtlpReceiver(options);
    current = receiver;
    onTestFinished(async () => {
      attachTraces(context.task.meta as Record<string, unknown>, receiver.traces());
      if (current === receiver) current = undefined;
      await receiver.close();
    });
  });
  const now = (what: string): OtlpReceiver => {
    if (!current) throw new Error(OTLP_AUTHORING.outsideCheck(what));
    return current;
  };
  return {
    get url() {
      return now('url').url;
    },
    get tracesUrl() {
      return now('tracesUrl').tracesUrl;
    },
    get metricsUrl() {
      return now('metricsUrl').metricsUrl;
    },
    get logsUrl() {
      return now('logsUrl').logsUrl;
    },
    get port() {
      return now('port').port;
    },
    get mode() {
      return now('mode').mode;
    },
    traces: () => now('traces').traces(),
    spans: () => now('spans').spans(),
    resources: () => now('resources').resources(),
    requests: () => now('requests').requests(),
    metrics: () => now('metrics').metrics(),
    logs: () => now('logs').logs(),
    sawProtobuf: () => now('sawProtobuf').sawProtobuf(),
    waitForSpans: (until, waitOptions) => now('waitForSpans').waitForSpans(until, waitOptions),
    setMode: (mode) => now('setMode').setMode(mode),
    reset: () => now('reset').reset(),
    close: () => now('close').close(),
  };
}

/**
 * Adds received traces to the ones drawn with the check. The trace harness writes its own traces
 * into the same meta key from a hook that may run before or after this one, so the key becomes an
 * accessor: whatever the harness writes, the received traces are added to it.
 */
export function attachTraces(meta: Record<string, unknown>, received: readonly TraceTree[]): void {
  if (received.length === 0) return;
  const known = added.get(meta);
  if (known) {
    known.push(...received);
    return;
  }
  const extra = [...received];
  added.set(meta, extra);
  const key = META.traces;
  let own = meta[key] as TraceTree[] | undefined;
  Object.defineProperty(meta, key, {
    configurable: true,
    enumerable: true,
    get: () => [...(own ?? []), ...extra],
    set: (value: TraceTree[] | undefined) => {
      own = value;
    },
  });
}

/** The received traces already added to each check's meta. */
const added = new WeakMap<object, TraceTree[]>();
