import { describe, expect, it } from 'vitest';
import { buildCatalog, editDistance, suggestClosest, type Exercise } from '../../src/catalog/index.ts';

const IDS = ['first-span', 'nested-spans', 'span-attributes', 'circuit-breaker', 'retry-with-backoff', 'bulkhead', 'saga'];

function fakeExercise(id: string, track: string): Exercise {
  return {
    id,
    title: id,
    track,
    trackTitle: track,
    difficulty: 1,
    summary: '',
    files: ['main.ts'],
    hints: ['h'],
    servers: [],
    relDir: `01-${track}/01-${id}`,
    dir: `/w/exercises/01-${track}/01-${id}`,
    solutionDir: `/w/solutions/01-${track}/01-${id}`,
    checkerFile: `/w/checker/01-${track}/01-${id}.test.ts`,
    readmeFile: `/w/exercises/01-${track}/01-${id}/README.md`,
  };
}

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('saga', 'saga')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('frist-span', 'first-span')).toBe(2);
  });
});

describe('suggest', () => {
  const catalog = buildCatalog(
    '/w',
    [],
    IDS.map((id) => fakeExercise(id, 'patterns')),
  );

  it('suggests the id a typo was meant to be', () => {
    expect(catalog.suggest('frist-span')).toEqual(['first-span']);
    expect(catalog.suggest('circuit-braker')).toEqual(['circuit-breaker']);
    expect(catalog.suggest('sgaa')).toEqual(['saga']);
  });

  it('puts prefix matches before substring matches before typos', () => {
    expect(catalog.suggest('span')).toEqual(['span-attributes', 'first-span', 'nested-spans']);
    expect(catalog.suggest('retry')).toEqual(['retry-with-backoff']);
    expect(catalog.suggest('breaker')).toEqual(['circuit-breaker']);
  });

  it('ignores case and surrounding spaces, and respects max', () => {
    expect(catalog.suggest('  SAGA ')).toEqual(['saga']);
    expect(catalog.suggest('span', 1)).toEqual(['span-attributes']);
    expect(catalog.suggest('s', 10)).toEqual(['span-attributes', 'saga', 'first-span', 'nested-spans']);
  });

  it('suggests nothing for an unrelated or empty id', () => {
    expect(catalog.suggest('kubernetes')).toEqual([]);
    expect(catalog.suggest('')).toEqual([]);
    expect(suggestClosest('saga', IDS, 0)).toEqual([]);
  });
});
