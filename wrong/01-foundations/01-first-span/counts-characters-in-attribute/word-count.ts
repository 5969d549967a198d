import { trace } from '@opentelemetry/api';

const tracer = trace.getTracer('tracecraft.text');

export function countWords(text: string): number {
  const span = tracer.startSpan('count-words');
  try {
    const words = text.split(/\s+/).filter((word) => word.length > 0).length;
    span.setAttribute('app.text.words', text.length);
    return words;
  } finally {
    span.end();
  }
}
