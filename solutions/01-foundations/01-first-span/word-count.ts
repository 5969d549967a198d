import { trace } from '@opentelemetry/api';

// The tracer's name is the instrumentation scope: it tells an operator which code made the span.
const tracer = trace.getTracer('tracecraft.text');

/**
 * Counts the words of a text: runs of characters separated by whitespace.
 * "  to be  or not " has four words; an empty or blank text has none.
 */
export function countWords(text: string): number {
  const span = tracer.startSpan('count-words');
  try {
    const words = text.split(/\s+/).filter((word) => word.length > 0).length;
    span.setAttribute('app.text.words', words);
    return words;
  } finally {
    // A span is only exported once it ends; `finally` ends it even when the work throws.
    span.end();
  }
}
