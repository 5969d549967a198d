import { trace } from '@opentelemetry/api';

/**
 * Counts the words of a text: runs of characters separated by whitespace.
 * "  to be  or not " has four words; an empty or blank text has none.
 */
export function countWords(text: string): number {
  // TODO: record this work as a span named "count-words", from a tracer named "tracecraft.text".
  // TODO: set the attribute "app.text.words" to the number of words, then end the span.
  void trace;
  return text.split(' ').length;
}
