import { isMarkedFailure } from '../../src/checks/contract.ts';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  describeEdge,
  expectNoViolations,
  forbidImports,
  layersPointInward,
  matchesGlob,
  packageName,
  readImportGraph,
  targetFolder,
  TARGET_DIR_ENV,
  type ImportEdge,
  type ImportGraph,
} from '../../src/checks/index.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'imports');
const REPO_ROOT = path.resolve(FIXTURES, '..', '..', '..');

/** The edges of one file, without `from`, for compact expectations. */
function edgesOf(graph: ImportGraph, from: string): Omit<ImportEdge, 'from'>[] {
  return graph.edges.filter((e) => e.from === from).map(({ from: _from, ...rest }) => rest);
}

describe('readImportGraph on every kind of import', () => {
  let graph: ImportGraph;
  beforeAll(async () => {
    graph = await readImportGraph(path.join(FIXTURES, 'kinds'));
  });

  it('lists every TypeScript file of the folder, relative, with / separators, sorted', () => {
    expect(graph.folder).toBe(path.join(FIXTURES, 'kinds'));
    expect(graph.files).toEqual([
      'broken.ts',
      'domain/money.ts',
      'domain/order.ts',
      'domain/tax.ts',
      'lib/empty.ts',
      'lib/late.ts',
      'lib/later.ts',
      'lib/legacy.ts',
      'lib/setup.ts',
      'lib/types.ts',
      'main.ts',
      'util/index.ts',
    ]);
  });

  it('reads static, type-only, re-export and dynamic imports with their lines, resolving files and naming packages', () => {
    const file = (specifier: string, to: string, kind: ImportEdge['kind'], line: number): Omit<ImportEdge, 'from'> => ({
      specifier, to, target: 'file', kind, line,
    });
    const pkg = (specifier: string, to: string, line: number): Omit<ImportEdge, 'from'> => ({
      specifier, to, target: 'package', kind: 'static', line,
    });
    expect(edgesOf(graph, 'main.ts')).toEqual([
      file('./domain/order.ts', 'domain/order.ts', 'static', 2),
      file('./domain/order.ts', 'domain/order.ts', 'type', 3), // import type
      file('./domain/money.ts', 'domain/money.ts', 'type', 4), // import { type A, type B }
      file('./domain/tax.ts', 'domain/tax.ts', 'static', 5), // import { type A, b }: b is a value
      file('./lib/setup.ts', 'lib/setup.ts', 'static', 6), // side effect only
      file('./lib/empty.ts', 'lib/empty.ts', 'static', 7), // import {} still loads the module
      file('./util', 'util/index.ts', 'static', 8), // a folder's index file, multi-line import at its first line
      file('./util/', 'util/index.ts', 'static', 12),
      file('./lib/legacy.js', 'lib/legacy.ts', 'static', 13), // .js names the .ts it compiles from
      { specifier: './nope.ts', to: 'nope.ts', target: 'missing', kind: 'static', line: 14 },
      pkg('@opentelemetry/api', '@opentelemetry/api', 15),
      pkg('@opentelemetry/api/build/src/internal.js', '@opentelemetry/api', 16),
      pkg('node:fs/promises', 'node:fs', 17),
      pkg('fs', 'fs', 18),
      pkg('#kit', '#kit', 19),
      pkg('lodash/fp/map', 'lodash', 20),
      file('./domain/order.ts', 'domain/order.ts', 're-export', 21),
      file('./domain/money.ts', 'domain/money.ts', 're-export', 22), // export *
      file('./util/index.ts', 'util/index.ts', 're-export', 23), // export * as ns
      file('./domain/tax.ts', 'domain/tax.ts', 'type', 24), // export type { … } from
      file('./domain/money.ts', 'domain/money.ts', 'type', 25), // export { type A } from
      file('./lib/types.ts', 'lib/types.ts', 'type', 26), // export type * from
      file('./lib/later.ts', 'lib/later.ts', 'type', 31), // import('…').T in a type
      file('./lib/late.ts', 'lib/late.ts', 'dynamic', 34),
    ]);
  });

  it('ignores imports written in comments and strings', () => {
    const specifiers = graph.edges.map((e) => e.specifier);
    expect(specifiers).not.toContain('./in-a-comment.ts');
    expect(specifiers).not.toContain('./in-a-string.ts');
  });

  it('reports a dynamic import with a computed specifier apart, with its source text', () => {
    expect(graph.computed).toEqual([{ from: 'main.ts', line: 35, expression: '`./lib/${name}.ts`' }]);
  });

  it('resolves imports relative to the importing file', () => {
    expect(edgesOf(graph, 'domain/order.ts').map((e) => e.to)).toEqual(['domain/money.ts', 'util/index.ts']);
  });

  it('still reads the imports of a file that does not parse, on both sides of the error', () => {
    expect(edgesOf(graph, 'broken.ts').map((e) => `${e.line} ${e.to}`)).toEqual(['2 domain/order.ts', '4 @opentelemetry/api']);
  });
});

describe('readImportGraph on a folder on disk', () => {
  let temp: string | undefined;
  afterEach(async () => {
    if (temp) await rm(temp, { recursive: true, force: true });
    temp = undefined;
  });

  it('skips node_modules and dot-folders, reads .mts and .tsx, and resolves a file outside the folder relative to it', async () => {
    temp = await mkdtemp(path.join(os.tmpdir(), 'tracecraft-imports-'));
    const app = path.join(temp, 'app');
    await mkdir(path.join(app, 'node_modules', 'dep'), { recursive: true });
    await mkdir(path.join(app, '.cache'), { recursive: true });
    await writeFile(path.join(temp, 'shared.ts'), 'export const shared = 1;\n');
    await writeFile(path.join(app, 'node_modules', 'dep', 'index.ts'), "import 'should-not-be-read';\n");
    await writeFile(path.join(app, '.cache', 'x.ts'), "import 'should-not-be-read';\n");
    await writeFile(path.join(app, 'view.tsx'), "import { shared } from '../shared.ts';\nexport const v = <div>{shared}</div>;\n");
    await writeFile(path.join(app, 'tool.mts'), "import { v } from './view.js';\nimport { w } from './gone';\nexport { v, w };\n");
    const graph = await readImportGraph(app);
    expect(graph.files).toEqual(['tool.mts', 'view.tsx']);
    expect(graph.edges).toEqual([
      { from: 'tool.mts', specifier: './view.js', to: 'view.tsx', target: 'file', kind: 'static', line: 1 },
      { from: 'tool.mts', specifier: './gone', to: 'gone', target: 'missing', kind: 'static', line: 2 },
      { from: 'view.tsx', specifier: '../shared.ts', to: '../shared.ts', target: 'file', kind: 'static', line: 1 },
    ]);
  });

  it('says which folder it failed to read', async () => {
    const missing = path.join(FIXTURES, 'no-such-exercise');
    await expect(readImportGraph(missing)).rejects.toThrow(`failed to read the folder ${missing}: ENOENT`);
  });
});

describe('forbidImports', () => {
  let graph: ImportGraph;
  beforeAll(async () => {
    graph = await readImportGraph(path.join(FIXTURES, 'hexagonal'));
  });

  it('names each forbidden import with file, line, what it imports and why, type-only imports included', () => {
    expect(
      forbidImports(graph, { from: 'domain/**', to: ['@opentelemetry/*', 'adapters/**'], because: 'the domain must not depend on OpenTelemetry or on its adapters' }),
    ).toEqual([
      'domain/order.ts:1 imports types from "@opentelemetry/api": the domain must not depend on OpenTelemetry or on its adapters',
      'domain/pricing.ts:2 imports adapters/memory-orders.ts: the domain must not depend on OpenTelemetry or on its adapters',
    ]);
  });

  it('can ignore type-only imports', () => {
    expect(forbidImports(graph, { from: 'domain/**', to: '@opentelemetry/*', types: false })).toEqual([]);
    expect(forbidImports(graph, { from: 'adapters', to: 'domain', types: false })).toEqual([]);
    expect(forbidImports(graph, { from: 'adapters', to: 'domain/ports.ts' })).toHaveLength(2);
  });

  it('says which files must not import what when no reason is given', () => {
    expect(forbidImports(graph, { from: ['domain/order.ts'], to: ['@opentelemetry/api'] })).toEqual([
      'domain/order.ts:1 imports types from "@opentelemetry/api": files matching "domain/order.ts" must not import "@opentelemetry/api"',
    ]);
  });

  it('follows helpers outside the rule when asked, and shows the path to the forbidden import', () => {
    expect(forbidImports(graph, { from: 'domain/**', to: '@opentelemetry/**', because: 'no OpenTelemetry in the domain', transitive: true })).toEqual([
      'domain/order.ts:1 imports types from "@opentelemetry/api": no OpenTelemetry in the domain',
      'domain/pricing.ts:1 imports "@opentelemetry/api" indirectly (via lib/log.ts:1 → lib/otel.ts:3): no OpenTelemetry in the domain',
    ]);
  });

  it('matches a package by its name or by the specifier as written', () => {
    const edges: ImportEdge[] = [
      { from: 'domain/a.ts', specifier: '@opentelemetry/api/experimental', to: '@opentelemetry/api', target: 'package', kind: 'dynamic', line: 7 },
    ];
    const graphOf = { folder: '/x', files: ['domain/a.ts'], edges, computed: [] };
    expect(forbidImports(graphOf, { from: 'domain', to: '@opentelemetry/api/experimental', because: 'no' })).toEqual([
      'domain/a.ts:7 imports "@opentelemetry/api" dynamically: no',
    ]);
  });

  it('holds on a clean folder', async () => {
    const clean = await readImportGraph(path.join(FIXTURES, 'onion'));
    expect(forbidImports(clean, { from: '**', to: '@opentelemetry/*' })).toEqual([]);
  });
});

describe('layersPointInward', () => {
  let graph: ImportGraph;
  const RINGS = ['domain', 'application', 'infrastructure', 'presentation'];
  beforeAll(async () => {
    graph = await readImportGraph(path.join(FIXTURES, 'onion'));
  });

  it('reports every import of a ring further out, naming both files and both rings', () => {
    const order = '(dependencies point inward only: presentation → infrastructure → application → domain)';
    expect(layersPointInward(graph, RINGS)).toEqual([
      `application/transfer.ts:3 imports infrastructure/sql-accounts.ts: the application ring must not depend on the infrastructure ring, which is further out ${order}`,
      `domain/account.ts:1 imports types from presentation/http.ts: the domain ring must not depend on the presentation ring, which is further out ${order}`,
    ]);
  });

  it('can ignore type-only imports, and leaves files outside every ring alone', () => {
    expect(layersPointInward(graph, RINGS, { types: false })).toEqual([
      expect.stringMatching(/^application\/transfer\.ts:3 imports infrastructure\/sql-accounts\.ts: /),
    ]);
  });

  it('takes rings defined by globs', () => {
    const rings = [
      { name: 'core', files: ['domain/**', 'application/**'] },
      { name: 'edge', files: 'infrastructure/**' },
      { name: 'ui', files: 'presentation' },
    ];
    expect(layersPointInward(graph, rings)).toEqual([
      expect.stringContaining('application/transfer.ts:3 imports infrastructure/sql-accounts.ts: the core ring must not depend on the edge ring'),
      expect.stringContaining('domain/account.ts:1 imports types from presentation/http.ts: the core ring must not depend on the ui ring'),
    ]);
  });
});

describe('the pieces', () => {
  it('matches globs over paths and package names', () => {
    expect(matchesGlob('domain/order.ts', 'domain/**')).toBe(true);
    expect(matchesGlob('domain/deep/order.ts', 'domain/**')).toBe(true);
    expect(matchesGlob('domainx/order.ts', 'domain/**')).toBe(false);
    expect(matchesGlob('domain/order.ts', 'domain')).toBe(true);
    expect(matchesGlob('domain/order.ts', 'domain/')).toBe(true);
    expect(matchesGlob('domain.ts', 'domain')).toBe(false);
    expect(matchesGlob('domain/order.ts', 'domain/*.ts')).toBe(true);
    expect(matchesGlob('domain/deep/order.ts', 'domain/*.ts')).toBe(false);
    expect(matchesGlob('a/b/c.port.ts', '**/*.port.ts')).toBe(true);
    expect(matchesGlob('c.port.ts', '**/*.port.ts')).toBe(true);
    expect(matchesGlob('@opentelemetry/api', '@opentelemetry/*')).toBe(true);
    expect(matchesGlob('@opentelemetry/api', '@opentelemetry/api')).toBe(true);
    expect(matchesGlob('@opentelemetry/api-logs', '@opentelemetry/api')).toBe(false);
    expect(matchesGlob('@other/api', '@opentelemetry/*')).toBe(false);
    expect(matchesGlob('x.ts', 'x?ts')).toBe(true);
  });

  it('names packages without their sub-paths', () => {
    expect(packageName('@opentelemetry/api/build/x.js')).toBe('@opentelemetry/api');
    expect(packageName('pg')).toBe('pg');
    expect(packageName('node:fs/promises')).toBe('node:fs');
    expect(packageName('#target/03-architecture/x.ts')).toBe('#target/03-architecture/x.ts');
  });

  it('describes each kind of edge as a sentence', () => {
    const edge: ImportEdge = { from: 'a.ts', specifier: './b.ts', to: 'b.ts', target: 'file', kind: 'static', line: 1 };
    expect(describeEdge(edge)).toBe('imports b.ts');
    expect(describeEdge({ ...edge, kind: 'type' })).toBe('imports types from b.ts');
    expect(describeEdge({ ...edge, kind: 're-export' })).toBe('re-exports b.ts');
    expect(describeEdge({ ...edge, kind: 'dynamic', to: 'pg', target: 'package' })).toBe('imports "pg" dynamically');
  });

  it('fails a check with the concept and one line per violation, as an assertion', () => {
    expect(() => expectNoViolations([], 'the domain stays pure')).not.toThrow();
    let thrown: unknown;
    try {
      expectNoViolations(['a.ts:1 imports "pg": no', 'b.ts:2 imports "pg": no'], 'the domain stays pure');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(isMarkedFailure(thrown), 'a failed check, not a crash').toBe(true);
    expect((thrown as Error).message).toBe('the domain stays pure:\n  - a.ts:1 imports "pg": no\n  - b.ts:2 imports "pg": no');
  });
});

describe('targetFolder', () => {
  const saved = process.env[TARGET_DIR_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[TARGET_DIR_ENV];
    else process.env[TARGET_DIR_ENV] = saved;
  });

  it('maps an exercise to the tree the runner grades', () => {
    process.env[TARGET_DIR_ENV] = '/work/somewhere/solutions';
    expect(targetFolder('03-architecture/01-hexagonal')).toBe('/work/somewhere/solutions/03-architecture/01-hexagonal');
    expect(targetFolder('#target/03-architecture/01-hexagonal/')).toBe('/work/somewhere/solutions/03-architecture/01-hexagonal');
  });

  it('falls back to exercises/, as the #target/* import does, outside the runner', () => {
    delete process.env[TARGET_DIR_ENV];
    expect(targetFolder('03-architecture/02-onion')).toBe(path.join(REPO_ROOT, 'exercises', '03-architecture', '02-onion'));
  });

  it('refuses a path that leaves the tree', () => {
    expect(() => targetFolder('../secrets')).toThrow('relative to exercises/ and without ".."');
    expect(() => targetFolder('/etc')).toThrow('give the exercise folder as "<track>/<exercise>"');
    expect(() => targetFolder('')).toThrow();
  });
});
