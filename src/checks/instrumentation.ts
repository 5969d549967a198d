/**
 * OpenTelemetry instrumentation packages under the grader, and the order of loading they need.
 *
 * An instrumentation patches a package when it is `require`d after the instrumentation was enabled.
 * Under vitest the learner's `import pg from 'pg'` is a native ESM import of a CommonJS package: its
 * main file never goes through `require`, so hooks on the main module (ioredis) never fire, while
 * hooks on internal files (pg's client, amqplib's channel model) fire only if the package is
 * loaded for the first time after the instrumentation is enabled.
 *
 * `useInstrumentations` enables the instrumentations and then requires every package they hook, so
 * the learner's later `import` gets the patched package. A package the code under test already
 * loaded can be patched again only where the hook is on its main module (pg, ioredis); for the
 * others (amqplib) the checker loads the code under test after this call, with `importTarget`.
 */
import { createRequire, isBuiltin, syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { context, metrics, trace, type Context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { afterAll } from 'vitest';
import { requireExports } from './tracing.ts';
import { AuthorError, ENV } from './contract.ts';

export interface InstrumentationOptions {
  /** More modules to require once the instrumentations are enabled (the ones they hook are required anyway). */
  preload?: string[];
}

export const INSTRUMENTATION_AUTHORING = {
  loadedTooEarly: (names: readonly string[], instrumentation: string) =>
    `useInstrumentations(): ${names.join(', ')} ${names.length === 1 ? 'was' : 'were'} loaded before ${instrumentation} was enabled ` +
    '(the code under test imports it, and a static import from #target runs before the checker\'s own code), ' +
    'so its files cannot be patched any more and its calls would have no spans. Load the code under test after this call: ' +
    "const { name } = await importTarget<typeof import('#target/…')>('#target/…', ['name']).",
  notTarget: (specifier: string) => `importTarget("${specifier}"): give a "#target/<track>/<exercise>/<file>.ts" specifier.`,
} as const;

interface ModuleDefinition {
  name: string;
  files?: { name: string }[];
}

/** Where the graded code resolves its packages from: the graded tree (inside the workbook). */
function targetRequire(): NodeJS.Require {
  const base = process.env[ENV.targetDir] || process.cwd();
  return createRequire(path.join(base, 'package-resolution.js'));
}

/** The package folder of a module name, when it is installed (undefined for built-ins and missing packages). */
function packageDir(require: NodeJS.Require, name: string): string | undefined {
  try {
    const main = require.resolve(name);
    const marker = `${path.sep}node_modules${path.sep}${name.split('/').join(path.sep)}${path.sep}`;
    const at = main.lastIndexOf(marker);
    return at < 0 ? path.dirname(main) : main.slice(0, at + marker.length - 1);
  } catch {
    return undefined;
  }
}

/** Loaded files of a package, from require's cache (an ESM import of a CommonJS package lands there too). */
function loadedFiles(require: NodeJS.Require, dir: string): boolean {
  const prefix = dir + path.sep;
  return Object.keys(require.cache).some((file) => file.startsWith(prefix));
}

/**
 * Enables `instrumentations` for this checker file (their spans go to the harness's provider) and
 * requires each package they hook, so the learner's code gets the patched package. Disabled when
 * the file ends. Call it at the top of the checker, after `useTracing()`.
 */
export function useInstrumentations<T extends Instrumentation>(instrumentations: T[], options: InstrumentationOptions = {}): T[] {
  const require = targetRequire();
  for (const instrumentation of instrumentations) {
    const definitions = (instrumentation as { getModuleDefinitions?: () => ModuleDefinition[] }).getModuleDefinitions?.() ?? [];
    // Files hooked inside a package are patched only when first loaded: one loaded already is lost.
    const lost = definitions.filter((d) => (d.files ?? []).length > 0 && !isBuiltin(d.name)).filter((d) => {
      const dir = packageDir(require, d.name);
      return dir !== undefined && loadedFiles(require, dir) && !mainModuleHooked(definitions, d.name);
    });
    if (lost.length > 0) throw new AuthorError(INSTRUMENTATION_AUTHORING.loadedTooEarly(lost.map((d) => d.name), instrumentation.instrumentationName));
    instrumentation.setTracerProvider(trace.getTracerProvider());
    instrumentation.setMeterProvider(metrics.getMeterProvider());
    instrumentation.enable();
    for (const definition of definitions) preload(require, definition.name);
  }
  for (const name of options.preload ?? []) preload(require, name);
  afterAll(() => {
    for (const instrumentation of instrumentations) instrumentation.disable();
  });
  return instrumentations;
}

/** A hook on the main module patches it again when it is required again, loaded before or not. */
function mainModuleHooked(definitions: readonly ModuleDefinition[], name: string): boolean {
  return definitions.some((d) => d.name === name && typeof (d as { patch?: unknown }).patch === 'function');
}

/**
 * Requires a module so the enabled instrumentations patch it; a built-in's ESM exports are then
 * updated from the patched CommonJS ones. A package that is not installed is skipped: the code
 * under test cannot import it either.
 */
function preload(require: NodeJS.Require, name: string): void {
  if (isBuiltin(name)) {
    require(name);
    syncBuiltinESMExports();
    return;
  }
  try {
    require.resolve(name);
  } catch {
    return;
  }
  require(name);
}

/**
 * Imports the code under test now, for checks that must set something up before it loads
 * (instrumentations, metric views): a static `#target` import runs before the checker's own code.
 * The names are checked like a static import's: a missing export is a verdict naming the file.
 *
 *   const { createCache } = await importTarget<typeof import('#target/05-infrastructure/02-cache-redis/cache.ts')>(
 *     '#target/05-infrastructure/02-cache-redis/cache.ts', ['createCache']);
 */
export async function importTarget<M extends object>(specifier: string, names: readonly (keyof M & string)[]): Promise<M> {
  if (!specifier.startsWith('#target/')) throw new AuthorError(INSTRUMENTATION_AUTHORING.notTarget(specifier));
  const module = (await import(/* @vite-ignore */ specifier)) as Record<string, unknown>;
  const targetDir = process.env[ENV.targetDir];
  const folder = targetDir ? path.relative(process.cwd(), targetDir) || 'exercises' : 'exercises';
  requireExports(module, names, `${folder}/${specifier.slice('#target/'.length)}`);
  return module as M;
}

/**
 * Runs `fn` with tracing suppressed: the checker's own queries (reading back what the learner's
 * code wrote) make no spans beside the learner's, even with the client instrumented.
 */
export function withoutTracing<T>(fn: () => T, from: Context = context.active()): T {
  return context.with(suppressTracing(from), fn);
}
