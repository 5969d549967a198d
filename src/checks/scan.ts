/**
 * Finds every import-like construct in a folder's TypeScript files with the oxc parser that
 * ships with Vite (rolldown's parseAst). In a check it runs in the grader process, where the
 * parser is already loaded, and reaches the checker through a virtual module (see
 * src/runner/target-plugin.ts): a fresh worker would otherwise pay for loading a parser on
 * every re-check.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export type ImportKind = 'static' | 'type' | 're-export' | 'dynamic';

export type Found = { specifier: string; kind: ImportKind; line: number } | { expression: string; line: number };

export interface ScannedFolder {
  folder: string;
  files: string[];
  found: Record<string, Found[]>;
}

/** The id a checker imports to get a folder scanned by the grader. */
export const SCAN_MODULE_PREFIX = 'virtual:tracecraft-imports';

export const SCAN_MESSAGES = {
  readFailed: (what: string, file: string, error: unknown) =>
    `failed to read ${what} ${file}: ${error instanceof Error ? error.message : String(error)}`,
} as const;

const SOURCE_FILE = /\.(?:ts|tsx|mts|cts)$/;

interface AstNode {
  type: string;
  start: number;
  [key: string]: unknown;
}

type ParseAst = (code: string, options: { lang: 'ts' | 'tsx' }) => { body: unknown[] };

let parser: Promise<ParseAst> | undefined;

function loadParser(): Promise<ParseAst> {
  parser ??= import('rolldown/parseAst').then((m) => m.parseAst as unknown as ParseAst);
  return parser;
}

export async function listSources(root: string, relative = ''): Promise<string[]> {
  const dir = path.join(root, relative);
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new Error(SCAN_MESSAGES.readFailed('the folder', dir, error), { cause: error });
  }
  const found: string[] = [];
  for (const entry of entries) {
    const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      found.push(...(await listSources(root, child)));
    } else if (entry.isFile() && SOURCE_FILE.test(entry.name)) {
      found.push(child);
    }
  }
  return found.sort();
}

/** Reads and scans every TypeScript file under `folder`. */
export async function scanFolder(folder: string): Promise<ScannedFolder> {
  const root = path.resolve(folder);
  const files = await listSources(root);
  const parse = await loadParser();
  const found: Record<string, Found[]> = {};
  for (const file of files) {
    const absolute = path.join(root, file);
    let text: string;
    try {
      text = await readFile(absolute, 'utf8');
    } catch (error) {
      throw new Error(SCAN_MESSAGES.readFailed('the source file', absolute, error), { cause: error });
    }
    found[file] = scanSource(parse, file, text);
  }
  return { folder: root, files, found };
}

function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

function stringLiteral(node: unknown): string | undefined {
  if (!isNode(node)) return undefined;
  if (node.type === 'Literal' && typeof node['value'] === 'string') return node['value'];
  if (node.type === 'TemplateLiteral') {
    const quasis = node['quasis'] as { value: { cooked: string } }[];
    const expressions = node['expressions'] as unknown[];
    if (expressions.length === 0 && quasis.length === 1) return quasis[0]?.value.cooked;
  }
  return undefined;
}

/** Every import-like construct of one file, in source order. Parsing never throws: odd code yields what it can. */
export function scanSource(parse: ParseAst, fileName: string, text: string): Found[] {
  let program: { body: unknown[] };
  try {
    program = parse(text, { lang: fileName.endsWith('.tsx') ? 'tsx' : 'ts' });
  } catch {
    return scanByPattern(text);
  }
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const lineOf = (offset: number): number => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((lineStarts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };
  const found: { offset: number; item: Found }[] = [];
  const add = (node: AstNode, item: Omit<Found, 'line'>): void => {
    found.push({ offset: node.start, item: { ...item, line: lineOf(node.start) } as Found });
  };
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (!isNode(value)) {
      if (typeof value === 'object' && value !== null) for (const child of Object.values(value)) visit(child);
      return;
    }
    const node = value;
    const specifier = stringLiteral(node['source']);
    if (node.type === 'ImportDeclaration' && specifier !== undefined) {
      add(node, { specifier, kind: importKind(node) });
    } else if ((node.type === 'ExportNamedDeclaration' || node.type === 'ExportAllDeclaration') && specifier !== undefined) {
      add(node, { specifier, kind: exportKind(node) });
    } else if (node.type === 'TSImportEqualsDeclaration') {
      const reference = node['moduleReference'];
      const required = isNode(reference) && reference.type === 'TSExternalModuleReference' ? stringLiteral(reference['expression']) : undefined;
      if (required !== undefined) add(node, { specifier: required, kind: node['importKind'] === 'type' ? 'type' : 'static' });
    } else if (node.type === 'TSImportType') {
      const argument = specifier ?? stringLiteral(isNode(node['argument']) ? node['argument']['literal'] : undefined);
      if (argument !== undefined) add(node, { specifier: argument, kind: 'type' });
    } else if (node.type === 'ImportExpression') {
      const source = node['source'];
      if (specifier !== undefined) add(node, { specifier, kind: 'dynamic' });
      else if (isNode(source)) add(node, { expression: text.slice(source.start, source['end'] as number) });
    }
    for (const [key, child] of Object.entries(node)) {
      if (key !== 'type' && typeof child === 'object' && child !== null) visit(child);
    }
  };
  visit(program.body);
  return found.sort((a, b) => a.offset - b.offset).map((f) => f.item);
}

function specifiers(node: AstNode): AstNode[] {
  const list = node['specifiers'];
  return Array.isArray(list) ? list.filter(isNode) : [];
}

function importKind(node: AstNode): ImportKind {
  if (node['importKind'] === 'type') return 'type';
  const names = specifiers(node);
  // `import { type A, type B } from 'x'`: every name is a type, nothing of 'x' is used at run time.
  if (names.length > 0 && names.every((s) => s.type === 'ImportSpecifier' && s['importKind'] === 'type')) return 'type';
  return 'static';
}

function exportKind(node: AstNode): ImportKind {
  if (node['exportKind'] === 'type') return 'type';
  const names = specifiers(node);
  if (names.length > 0 && names.every((s) => s['exportKind'] === 'type')) return 'type';
  return 're-export';
}

/** For a file that does not parse: the import and export lines a reader would see. */
function scanByPattern(text: string): Found[] {
  const found: Found[] = [];
  const lines = text.split('\n');
  const pattern = /^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/;
  lines.forEach((line, i) => {
    const match = pattern.exec(line);
    if (!match?.[3]) return;
    const kind: ImportKind = match[2] ? 'type' : match[1] === 'export' ? 're-export' : 'static';
    found.push({ specifier: match[3], kind, line: i + 1 });
  });
  return found;
}
