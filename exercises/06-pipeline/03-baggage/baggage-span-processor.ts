/*
 * Baggage is not telemetry: it travels with a request from service to service, and no backend ever
 * sees it. This processor copies the entries it is told to onto every span, as attributes.
 */
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** Copies the baggage entries named in `keys` onto every span when it starts, as attributes of the same name. */
export class BaggageSpanProcessor implements SpanProcessor {
  constructor(readonly keys: readonly string[]) {}

  onStart(span: Span, parentContext: Context): void {
    // TODO: copy each entry of this.keys found in the baggage of the context the span starts in.
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
