import { expect, it } from 'vitest';
import { expectAllEnded, expectTrace, random, spansNamed, useTracing } from '#checks';
import { countWords } from '#target/01-foundations/01-first-span/word-count.ts';

const otel = useTracing();

function randomText(): { text: string; words: number } {
  const words = Array.from({ length: random.int(1, 9) }, () => random.word(random.int(1, 7)));
  const gap = (): string => random.pick([' ', '  ', '\t', '\n', ' \t ']);
  return { text: gap() + words.join(gap()) + gap(), words: words.length };
}

it('counts the words of a text, whatever the whitespace between them', () => {
  for (let i = 0; i < 20; i++) {
    const { text, words } = randomText();
    expect(countWords(text), `word count of ${JSON.stringify(text)}`).toBe(words);
  }
  expect(countWords('   '), 'a blank text has no words').toBe(0);
});

it('records one "count-words" span per call, from the tracer named "tracecraft.text"', () => {
  const { text, words } = randomText();
  countWords(text);
  expectTrace(
    otel,
    { name: 'count-words', kind: 'internal', scope: 'tracecraft.text', attributes: { 'app.text.words': words } },
    'one span per call, from a named tracer',
  );
  expect(spansNamed(otel, 'count-words'), 'one call makes exactly one span').toHaveLength(1);
});

it('ends the span, so it can be exported', () => {
  countWords(randomText().text);
  expect(otel.spans().length, 'countWords should start a span').toBeGreaterThan(0);
  expectAllEnded(otel);
});
