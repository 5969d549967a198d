/**
 * Rewrites a checker file so that the names it imports from `#target/...` are verified
 * before any check runs. Without this a missing export is just `undefined`, and the learner
 * would read "add is not a function" instead of "add is not exported".
 */
const IMPORT = /^\s*import\s+(?!type\b)\{([^}]*)\}\s*from\s*['"](#target\/[^'"]+)['"]/gm;

export interface TargetImport {
  specifier: string;
  names: string[];
}

export function targetImports(code: string): TargetImport[] {
  const found: TargetImport[] = [];
  for (const match of code.matchAll(IMPORT)) {
    const names = (match[1] ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part.length > 0 && !part.startsWith('type '))
      .map((part) => part.split(/\s+as\s+/)[0]?.trim() ?? '')
      .filter((name) => name.length > 0);
    if (names.length > 0 && match[2]) found.push({ specifier: match[2], names });
  }
  return found;
}

/** `folder` names where `#target/` points (exercises or solutions), so the message shows the real path. */
export function guardExports(code: string, folder: string): string | undefined {
  const imports = targetImports(code);
  if (imports.length === 0) return undefined;
  const lines = imports.flatMap((imp, i) => [
    `import * as __tracecraft_target_${i} from ${JSON.stringify(imp.specifier)};`,
    `__tracecraft_requireExports(__tracecraft_target_${i}, ${JSON.stringify(imp.names)}, ${JSON.stringify(`${folder}/${imp.specifier.slice('#target/'.length)}`)});`,
  ]);
  // Imports are hoisted, so these statements run before the checker's own top-level code. The order
  // is load order, and it is meant: #checks first (it registers the global meter provider before the
  // learner's module gets its meter), then the code under test, then the checker's own imports. So a
  // learner who enables an instrumentation before their own `import pg` gets their spans even when
  // the checker imports pg too; checks that must enable something first load the code under test
  // later, with importTarget.
  return [`import { requireExports as __tracecraft_requireExports } from '#checks';`, ...lines, code].join('\n');
}
