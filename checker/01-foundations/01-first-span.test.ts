import { it } from 'vitest';
import fc from 'fast-check';
import { expectAllEnded, expectThat, expectTrace, holds, random, spansNamed, useTracing, verify } from '#checks';
import { countWords } from '#target/01-foundations/01-first-span/word-count.ts';

const otel = useTracing();

it('counts the words of a text, whatever the whitespace between them', async () => {
  await holds(texts(), ({ text, words }) => verify(countWords(text), `the word count of ${JSON.stringify(text)}`).is(words), {
    examples: EDGE_TEXTS,
    describe: ({ text }) => `the text ${JSON.stringify(text)}`,
  });
});

it('records each call as one "count-words" span from the tracer "tracecraft.text", with app.text.words', () => {
  // A blank text every run: its span must say 0 words, not leave the attribute out.
  const texts = random.shuffle([random.pick(['', '   ', '\t\n ']), ...Array.from({ length: random.int(2, 4) }, () => randomText().text)]);
  const returned = texts.map((text) => countWords(text));
  expectTrace(
    otel,
    { name: 'count-words', kind: 'internal', scope: 'tracecraft.text', attributes: { 'app.text.words': returned[0] ?? 0 } },
    'one span per call, from a named tracer (the instrumentation scope)',
  );
  const spans = spansNamed(otel, 'count-words');
  verify(spans, `${texts.length} calls to countWords`).hasCount(texts.length, '"count-words" span');
  verify(
    spans.map((span) => span.attributes['app.text.words']),
    'app.text.words of each "count-words" span, in call order',
  ).equals(returned);
});

it('ends the span, so it can be exported', () => {
  countWords(randomText().text);
  expectThat(otel.spans().length > 0, 'countWords records a span', 'no span was started');
  expectAllEnded(otel);
});

// ---- the rig: texts with every kind of whitespace, and the edge cases that run every time

interface Text {
  text: string;
  words: number;
}

/** Blank texts, whitespace at both ends, tabs and newlines, runs of spaces: the README's edge cases. */
const EDGE_TEXTS: Text[] = [
  { text: '', words: 0 },
  { text: '   ', words: 0 },
  { text: ' \t\n ', words: 0 },
  { text: 'word', words: 1 },
  { text: '  to be  or not ', words: 4 },
  { text: 'tab\tseparated\twords', words: 3 },
  { text: 'one\ntwo\nthree\n', words: 3 },
  { text: '\n\tindented  and   spaced\t', words: 3 },
  { text: "it's a well-known fact, isn't it?", words: 6 },
  { text: '- , .', words: 3 },
];

const GAPS = [' ', '  ', '\t', '\n', ' \t ', '\n\n', ' \n\t'];

function texts(): fc.Arbitrary<Text> {
  const word = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-\'.,'), minLength: 1, maxLength: 8 });
  const gap = fc.constantFrom(...GAPS);
  return fc
    .record({ words: fc.array(word, { maxLength: 9 }), gaps: fc.array(gap, { minLength: 10, maxLength: 10 }), lead: fc.option(gap), tail: fc.option(gap) })
    .map(({ words, gaps, lead, tail }) => ({
      text: (lead ?? '') + words.map((w, i) => (i === 0 ? w : (gaps[i] ?? ' ') + w)).join('') + (tail ?? ''),
      words: words.length,
    }));
}

function randomText(): Text {
  const words = Array.from({ length: random.int(1, 9) }, () => random.word(random.int(1, 7)));
  const gap = (): string => random.pick(GAPS);
  return { text: gap() + words.join(gap()) + gap(), words: words.length };
}
