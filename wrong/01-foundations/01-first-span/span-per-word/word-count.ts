import { trace } from '@opentelemetry/api';

const tracer = trace.getTracer('tracecraft.text');

export function countWords(text: string): number {
  const words = text.split(/\s+/).filter((word) => word.length > 0);
  let counted = 0;
  for (const _word of words) {
    const span = tracer.startSpan('count-words');
    counted++;
    span.setAttribute('app.text.words', counted);
    span.end();
  }
  return counted;
}
