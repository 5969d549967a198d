/*
 * Baggage is not telemetry: it travels with a request from service to service, and no backend ever
 * sees it. This processor copies the entries it is told to onto every span, as attributes.
 */
import { propagation, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** Copies the baggage entries named in `keys` onto every span when it starts, as attributes of the same name. */
export class BaggageSpanProcessor implements SpanProcessor {
  constructor(readonly keys: readonly string[]) {}

  onStart(span: Span, _parentContext: Context): void {
    // The baggage of the request being served.
    const baggage = propagation.getActiveBaggage();
    for (const key of this.keys) {
      const entry = baggage?.getEntry(key);
      if (entry !== undefined) span.setAttribute(key, entry.value);
    }
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
