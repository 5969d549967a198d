import { describe, expect, it } from 'vitest';
import { guardExports, targetImports } from '../../src/runner/export-guard.ts';

describe('targetImports', () => {
  it('finds the value names a checker imports from #target, skipping types and other modules', () => {
    const code = [
      "import { expect, it } from 'vitest';",
      "import { countWords, type Options, TRACER as tracerName } from '#target/01-foundations/01-first-span/word-count.ts';",
      "import type { Profile } from '#target/02-resilience/01-timeout/timeout.ts';",
      'import {',
      '  createApp,',
      '  type App,',
      "} from \"#target/03-architecture/02-onion/presentation/app.ts\";",
    ].join('\n');
    expect(targetImports(code)).toEqual([
      { specifier: '#target/01-foundations/01-first-span/word-count.ts', names: ['countWords', 'TRACER'] },
      { specifier: '#target/03-architecture/02-onion/presentation/app.ts', names: ['createApp'] },
    ]);
  });
});

describe('guardExports', () => {
  it('leaves a checker without #target imports alone', () => {
    expect(guardExports("import { it } from 'vitest';", 'exercises')).toBeUndefined();
  });

  it('checks the imported names before the checker runs, naming the real file', () => {
    const guarded = guardExports("import { add } from '#target/01-basics/01-passes/code.ts';\nit('adds', () => {});", 'solutions');
    expect(guarded?.split('\n').slice(0, 3)).toEqual([
      "import { requireExports as __tracecraft_requireExports } from '#checks';",
      'import * as __tracecraft_target_0 from "#target/01-basics/01-passes/code.ts";',
      '__tracecraft_requireExports(__tracecraft_target_0, ["add"], "solutions/01-basics/01-passes/code.ts");',
    ]);
    expect(guarded).toContain("it('adds', () => {});");
  });
});
