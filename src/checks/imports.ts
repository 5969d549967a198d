/**
 * The real import graph of an exercise's source folder, for checks about structure ("the domain
 * never imports OpenTelemetry", "dependencies point inward"). Each file is parsed (oxc, through
 * ./scan.ts), so comments, strings and type-only imports are told apart from the imports that
 * run; relative specifiers are resolved to the files they name.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { CheckFailure } from './contract.ts';
import { SCAN_MESSAGES, SCAN_MODULE_PREFIX, scanFolder, type ImportKind, type ScannedFolder } from './scan.ts';

export { targetFolder, TARGET_DIR_ENV } from './target.ts';

/**
 * - `static`: `import … from 'x'`, `import 'x'`, `import x = require('x')`: runs when the module loads.
 * - `type`: erased at run time, still a dependency: `import type …`, `import { type A } …` (every name a type),
 *   `export type … from 'x'`, and `import('x').T` in a type.
 * - `re-export`: `export … from 'x'`, `export * from 'x'`.
 * - `dynamic`: `import('x')` in an expression.
 */
export type { ImportKind } from './scan.ts';

export interface ImportEdge {
  /** The importing file, relative to the folder, with `/` separators. */
  from: string;
  /** The specifier exactly as written. */
  specifier: string;
  /**
   * What it names: a file's path relative to the folder (`adapters/db.ts`; `../x.ts` outside the folder),
   * or a package's name (`@opentelemetry/api` for `@opentelemetry/api/sub`, `node:fs`, `#kit` kept whole).
   */
  to: string;
  /** `file`: a file that exists; `package`: not a path; `missing`: a path that names no file (`to` is the path as written, normalized). */
  target: 'file' | 'package' | 'missing';
  kind: ImportKind;
  /** 1-based line of the import statement (or of the `import(…)`). */
  line: number;
}

/** A dynamic `import(…)` whose specifier is computed: the graph cannot say what it loads. */
export interface ComputedImport {
  from: string;
  line: number;
  /** The argument's source text. */
  expression: string;
}

export interface ImportGraph {
  /** The absolute folder that was read. */
  folder: string;
  /** Every TypeScript source file of the folder, relative and sorted (node_modules and dot-folders skipped). */
  files: string[];
  /** Every import of every file, in file order then source order. */
  edges: ImportEdge[];
  computed: ComputedImport[];
}

export const IMPORT_MESSAGES = {
  readFailed: SCAN_MESSAGES.readFailed,
  forbidden: (patterns: readonly string[], targets: readonly string[]) =>
    `files matching ${quoteList(patterns)} must not import ${quoteList(targets)}`,
  indirect: (target: string, chain: string) => `imports ${target} indirectly (via ${chain})`,
  outward: (fromRing: string, toRing: string, order: readonly string[]) =>
    `the ${fromRing} ring must not depend on the ${toRing} ring, which is further out ` +
    `(dependencies point inward only: ${[...order].reverse().join(' → ')})`,
  violations: (concept: string, violations: readonly string[]) =>
    `${concept}:\n${violations.map((v) => `  - ${v}`).join('\n')}`,
} as const;

function quoteList(items: readonly string[]): string {
  return items.map((i) => `"${i}"`).join(', ');
}

/**
 * A different module id for every read, across runs too (each run starts a fresh worker, while
 * the grader's module graph lives on): every read sees the files as they are now.
 */
let scans = 0;
const RUN = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * Asks the grader process to scan the folder (through the runner's virtual module), or scans it
 * here when no grader is around (the project's own tests).
 */
async function scan(folder: string): Promise<ScannedFolder> {
  const id = `${SCAN_MODULE_PREFIX}?folder=${encodeURIComponent(folder)}&run=${RUN}&n=${++scans}`;
  let scanned: ScannedFolder | { readError: string };
  try {
    scanned = ((await import(/* @vite-ignore */ id)) as { default: ScannedFolder | { readError: string } }).default;
  } catch {
    // No grader to ask (the project's own tests import this module directly): scan here.
    return scanFolder(folder);
  }
  if ('readError' in scanned) throw new Error(scanned.readError);
  return scanned;
}

/** Reads and parses every TypeScript file under `folder`. */
export async function readImportGraph(folder: string): Promise<ImportGraph> {
  const root = path.resolve(folder);
  const scanned = await scan(root);
  const known = new Set(scanned.files);
  const edges: ImportEdge[] = [];
  const computed: ComputedImport[] = [];
  for (const file of scanned.files) {
    for (const found of scanned.found[file] ?? []) {
      if ('expression' in found) {
        computed.push({ from: file, line: found.line, expression: found.expression });
        continue;
      }
      const resolved = await resolveSpecifier(root, known, file, found.specifier);
      edges.push({ from: file, specifier: found.specifier, ...resolved, kind: found.kind, line: found.line });
    }
  }
  return { folder: root, files: scanned.files, edges, computed };
}

/** `.js` in a specifier names the `.ts` file that compiles to it (NodeNext style). */
const COMPILED_TO_SOURCE: Record<string, string[]> = {
  '.js': ['.ts', '.tsx'],
  '.jsx': ['.tsx'],
  '.mjs': ['.mts'],
  '.cjs': ['.cts'],
};
const EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.d.ts'];

async function resolveSpecifier(
  root: string,
  known: ReadonlySet<string>,
  from: string,
  specifier: string,
): Promise<Pick<ImportEdge, 'to' | 'target'>> {
  const isPath = specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..' || specifier.startsWith('/');
  if (!isPath) return { to: packageName(specifier), target: 'package' };
  const joined = specifier.startsWith('/')
    ? path.relative(root, specifier).split(path.sep).join('/')
    : path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  const base = joined.replace(/\/+$/, '');
  const extension = path.posix.extname(base);
  const candidates = [base];
  for (const source of COMPILED_TO_SOURCE[extension] ?? []) candidates.push(base.slice(0, -extension.length) + source);
  for (const added of EXTENSIONS) candidates.push(base + added);
  for (const added of EXTENSIONS) candidates.push(`${base}/index${added}`);
  const normalized = candidates.map((candidate) => path.posix.normalize(candidate));
  for (const candidate of normalized) {
    if (known.has(candidate)) return { to: candidate, target: 'file' };
  }
  // Outside the folder (or not a source file): ask the disk.
  for (const candidate of normalized) {
    if (await isFile(path.join(root, candidate))) return { to: candidate, target: 'file' };
  }
  return { to: base, target: 'missing' };
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * The package a bare specifier loads: `@scope/name` or `name`, without a sub-path.
 * `node:` builtins keep their prefix (`node:fs`); subpath imports (`#kit`) are kept whole.
 */
export function packageName(specifier: string): string {
  if (specifier.startsWith('#')) return specifier;
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

// ---------------------------------------------------------------------------------------------
// Rules: each returns the violations as sentences for the learner, empty when the rule holds.

/**
 * A glob over `/`-separated paths and package names: `*` stays within one segment, `**` spans
 * segments (`domain/**`, `**\/*.port.ts`, `@opentelemetry/*`). A pattern without wildcards names a
 * file, a package or a folder: `domain` matches `domain/order.ts`, `@opentelemetry/api` matches itself.
 */
export function matchesGlob(value: string, pattern: string): boolean {
  const glob = pattern.replace(/\/+$/, '');
  if (!/[*?]/.test(glob)) return value === glob || value.startsWith(`${glob}/`);
  return globToRegExp(glob).test(value);
}

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] ?? '';
    if (char === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        source += '(?:.*/)?';
      } else {
        source += '.*';
      }
    } else if (char === '*') {
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

function matchesAny(value: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => matchesGlob(value, pattern));
}

function list(patterns: string | readonly string[]): readonly string[] {
  return typeof patterns === 'string' ? [patterns] : patterns;
}

/** A package in quotes, a file as its path in the folder. */
function targetText(edge: ImportEdge): string {
  return edge.target === 'package' ? `"${edge.to}"` : edge.to;
}

/** How an edge reads in a sentence: `imports "@opentelemetry/api"`, `re-exports adapters/db.ts`. */
export function describeEdge(edge: ImportEdge): string {
  const target = targetText(edge);
  switch (edge.kind) {
    case 'static':
      return `imports ${target}`;
    case 'type':
      return `imports types from ${target}`;
    case 're-export':
      return `re-exports ${target}`;
    case 'dynamic':
      return `imports ${target} dynamically`;
  }
}

export interface ForbiddenImports {
  /** The files the rule is about: globs relative to the folder (`domain/**`). */
  from: string | readonly string[];
  /** What they must not import: globs over the folder's files (`adapters/**`) and package names (`@opentelemetry/*`). */
  to: string | readonly string[];
  /** Why, in the learner's terms; ends every violation. Default: which files must not import what. */
  because?: string;
  /** Whether type-only imports count. Default true: a type import is still a dependency. */
  types?: boolean;
  /**
   * Also follow the imports of the files imported (outside `from`), so a forbidden import reached
   * through a helper counts: `domain/order.ts:3 imports "@opentelemetry/api" indirectly (via lib/log.ts:1)`.
   * Default false.
   */
  transitive?: boolean;
}

/** Every import that breaks `rule`, as `domain/order.ts:3 imports "@opentelemetry/api": <because>`. */
export function forbidImports(graph: ImportGraph, rule: ForbiddenImports): string[] {
  const from = list(rule.from);
  const to = list(rule.to);
  const reason = rule.because ?? IMPORT_MESSAGES.forbidden(from, to);
  const counts = (edge: ImportEdge): boolean => rule.types !== false || edge.kind !== 'type';
  const forbidden = (edge: ImportEdge): boolean =>
    matchesAny(edge.to, to) || (edge.target === 'package' && matchesAny(edge.specifier, to));
  const outgoing = edgesByFile(graph);
  const violations: string[] = [];
  for (const file of graph.files.filter((f) => matchesAny(f, from))) {
    const found: { line: number; text: string }[] = [];
    for (const edge of outgoing.get(file) ?? []) {
      if (counts(edge) && forbidden(edge)) found.push({ line: edge.line, text: describeEdge(edge) });
    }
    if (rule.transitive) {
      for (const { first, via, last } of indirectImports(file, outgoing, counts, (f) => matchesAny(f, from))) {
        if (!forbidden(last)) continue;
        const chain = via.map((edge) => `${edge.from}:${edge.line}`).join(' → ');
        found.push({ line: first.line, text: IMPORT_MESSAGES.indirect(targetText(last), chain) });
      }
    }
    // In line order within each file (the sort is stable: a direct import comes before an indirect one on its line).
    for (const { line, text } of found.sort((a, b) => a.line - b.line)) violations.push(`${file}:${line} ${text}: ${reason}`);
  }
  return violations;
}

function edgesByFile(graph: ImportGraph): Map<string, ImportEdge[]> {
  const outgoing = new Map<string, ImportEdge[]>();
  for (const edge of graph.edges) {
    const edges = outgoing.get(edge.from) ?? [];
    edges.push(edge);
    outgoing.set(edge.from, edges);
  }
  return outgoing;
}

/**
 * Imports reached from `start` through other files, breadth first (so each target is reported on its
 * shortest path, once). Files the rule checks itself (`skip`) are not entered: they report their own imports.
 */
function indirectImports(
  start: string,
  outgoing: ReadonlyMap<string, readonly ImportEdge[]>,
  counts: (edge: ImportEdge) => boolean,
  skip: (file: string) => boolean,
): { first: ImportEdge; via: ImportEdge[]; last: ImportEdge }[] {
  const reached: { first: ImportEdge; via: ImportEdge[]; last: ImportEdge }[] = [];
  const seenFiles = new Set([start]);
  const direct = (outgoing.get(start) ?? []).filter(counts);
  // What the file imports itself is reported as a direct import, not again as an indirect one.
  const seenTargets = new Set(direct.map((edge) => edge.to));
  let frontier: { file: string; path: ImportEdge[] }[] = [];
  for (const edge of direct) {
    if (edge.target !== 'file' || skip(edge.to) || seenFiles.has(edge.to)) continue;
    seenFiles.add(edge.to);
    frontier.push({ file: edge.to, path: [edge] });
  }
  while (frontier.length > 0) {
    const next: typeof frontier = [];
    for (const { file, path } of frontier) {
      for (const edge of outgoing.get(file) ?? []) {
        if (!counts(edge)) continue;
        const [first] = path;
        if (first && !seenTargets.has(edge.to)) {
          seenTargets.add(edge.to);
          reached.push({ first, via: [...path.slice(1), edge], last: edge });
        }
        if (edge.target === 'file' && !skip(edge.to) && !seenFiles.has(edge.to)) {
          seenFiles.add(edge.to);
          next.push({ file: edge.to, path: [...path, edge] });
        }
      }
    }
    frontier = next;
  }
  return reached;
}

export interface Ring {
  /** How violations name it: `domain`. */
  name: string;
  /** Its files: globs relative to the folder. Default: the folder named like the ring. */
  files?: string | readonly string[];
}

export interface RingOptions {
  /** Whether type-only imports count. Default true. */
  types?: boolean;
}

/**
 * Onion (or clean) architecture: `rings` from the innermost out, each a folder name or a {@link Ring}.
 * A file of ring i may import files of rings 0…i only; an import of a ring further out is a violation
 * naming both files and both rings. Files outside every ring, and packages, are not this rule's concern.
 */
export function layersPointInward(graph: ImportGraph, rings: readonly (string | Ring)[], options: RingOptions = {}): string[] {
  const defined = rings.map((ring) =>
    typeof ring === 'string' ? { name: ring, files: [ring] } : { name: ring.name, files: list(ring.files ?? ring.name) },
  );
  const ringOf = (file: string): number => defined.findIndex((ring) => matchesAny(file, ring.files));
  const names = defined.map((ring) => ring.name);
  const violations: string[] = [];
  for (const edge of graph.edges) {
    if (edge.target === 'package' || (options.types === false && edge.kind === 'type')) continue;
    const inner = ringOf(edge.from);
    const outer = ringOf(edge.to);
    if (inner < 0 || outer <= inner) continue;
    const fromRing = names[inner] ?? '';
    const toRing = names[outer] ?? '';
    violations.push(`${edge.from}:${edge.line} ${describeEdge(edge)}: ${IMPORT_MESSAGES.outward(fromRing, toRing, names)}`);
  }
  return violations;
}

/** A structure rule was broken: a failed check, not a crash. */
export class ImportRuleError extends CheckFailure {}

/** Fails the check with `concept` and one line per violation; does nothing when there are none. */
export function expectNoViolations(violations: readonly string[], concept: string): void {
  if (violations.length > 0) throw new ImportRuleError(IMPORT_MESSAGES.violations(concept, violations));
}
