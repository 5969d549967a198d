import { trace } from '@opentelemetry/api';

const tracer = trace.getTracer('tracecraft.text');

export function countWords(text: string): number {
  const span = tracer.startSpan('count-words');
  try {
    // Only spaces separate words here: tabs and newlines are taken as part of a word.
    const words = text.split(' ').filter((word) => word.length > 0).length;
    span.setAttribute('app.text.words', words);
    return words;
  } finally {
    span.end();
  }
}
