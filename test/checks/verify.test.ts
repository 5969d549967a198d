import { describe, expect, it } from 'vitest';
import { CheckFailure, counted, expectThat, show, verify } from '../../src/checks/index.ts';
import { isMarkedFailure } from '../../src/checks/contract.ts';

function message(run: () => void): string {
  try {
    run();
  } catch (error) {
    expect(isMarkedFailure(error), 'a failed check, not a crash').toBe(true);
    return (error as CheckFailure).message;
  }
  throw new Error('expected the check to fail');
}

describe('verify', () => {
  it('says what was looked at, what it is and what was expected', () => {
    expect(message(() => verify(2, 'the word count of "a  b"').is(3))).toBe('the word count of "a  b" is 2, expected 3');
    expect(message(() => verify(undefined, 'the status').isDefined())).toBe('the status is undefined, expected a value');
    expect(message(() => verify(7, 'the attempts').isBetween(1, 5))).toBe('the attempts is 7, expected between 1 and 5');
  });

  it('counts with the noun, singular and plural', () => {
    expect(message(() => verify([1, 2], 'one call').hasCount(3, '"attempt" span'))).toBe('one call: expected 3 "attempt" spans, found 2');
    expect(message(() => verify([], 'one call').hasCount(1, 'child|children'))).toBe('one call: expected 1 child, found 0');
    expect(counted(2, 'entry')).toBe('2 entries');
    expect(counted(2, 'batch')).toBe('2 batches');
  });

  it('shows two short sequences whole, with the first difference', () => {
    expect(message(() => verify(['reserve', 'charge', 'refund'], 'the calls, in order').equals(['reserve', 'charge', 'ship']))).toBe(
      'the calls, in order: got ["reserve", "charge", "refund"], expected ["reserve", "charge", "ship"] (first difference: #3 is "refund", expected "ship")',
    );
    expect(message(() => verify(['a'], 'the steps').equals(['a', 'b']))).toContain('#2 is missing: expected "b"');
  });

  it('shows long sequences around their first difference, never two cut lists that look the same', () => {
    const expected = Array.from({ length: 40 }, (_, i) => `compensate step number ${i}`);
    const actual = [...expected];
    actual[31] = 'charge again';
    const text = message(() => verify(actual, 'the saga log').equals(expected));
    expect(text).toContain('the first difference: #32 is "charge again", expected "compensate step number 31"');
    expect(text).toContain('"compensate step number 30"');
    expect(text).not.toMatch(/'/);
  });

  it('shows a few long items around the difference, not two lists cut to the same width', () => {
    const expected = ['reserve inventory for the order', 'charge the payment card of the customer', 'ship the parcel to the address', 'email the receipt'];
    const actual = [...expected.slice(0, 2), 'refund the payment card of the customer', ...expected.slice(3)];
    const text = message(() => verify(actual, 'the steps').equals(expected));
    expect(text).toContain('#3 is "refund the payment card of the customer", expected "ship the parcel to the address"');
    expect(text).not.toContain('…"');
  });

  it('names the field where two records differ', () => {
    expect(message(() => verify({ id: 'o-1', total: 12 }, 'the order').equals({ id: 'o-1', total: 10 }))).toBe('the order: total is 12, expected 10');
    expect(message(() => verify<{ id: string; total?: number }>({ id: 'o-1' }, 'the order').equals({ id: 'o-1', total: 10 }))).toBe('the order: total is missing, expected 10');
  });

  it('shows values the way they are written', () => {
    expect(show(['a', 1, { k: 'v', 'x-y': [true] }])).toBe('["a", 1, { k: "v", "x-y": [true] }]');
    expect(show(new Map([[1, 2]]))).toBe('Map(1) { 1 => 2 }');
  });
});

describe('expectThat', () => {
  it('states the rule and what happened instead', () => {
    expect(message(() => expectThat(false, 'an open breaker answers at once', 'the call was still waiting'))).toBe(
      'an open breaker answers at once, but the call was still waiting',
    );
    expect(message(() => expectThat(false, 'the span ends'))).toBe('expected: the span ends');
  });
});
