import { trace } from '@opentelemetry/api';

const tracer = trace.getTracer('tracecraft.text');

export function countWords(text: string): number {
  const span = tracer.startSpan('count-words');
  try {
    // "".split(/\s+/) is [""]: a blank text counts as one word.
    const words = text.trim().split(/\s+/).length;
    span.setAttribute('app.text.words', words);
    return words;
  } finally {
    span.end();
  }
}
