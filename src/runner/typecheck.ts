import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Exercise } from '../catalog/index.ts';
import { strip } from './classify.ts';
import { ENGINE_ROOT } from './target-plugin.ts';
import type { TestResult } from './results.ts';

/** The name of the check that type errors appear under, after the exercise's own checks. */
export const TYPECHECK_NAME = 'type checks cleanly (tsc, strict)';

/**
 * TypeScript 7, the native compiler: it checks one exercise in about 0.13 s, so it runs beside
 * the checks on every save.
 */
const TYPESCRIPT_DIR = path.join(ENGINE_ROOT, 'node_modules', 'typescript');

/**
 * How to start the compiler: its native executable itself, found the way the package's own `tsc`
 * finds it. The package's `tsc` is a Node script that starts it, which costs a Node start-up
 * (about half of the time on every save) on Node 20, where `process.execve` is missing.
 */
let compiler: Promise<{ file: string; args: string[] }> | undefined;
function findCompiler(): Promise<{ file: string; args: string[] }> {
  compiler ??= import(pathToFileURL(path.join(TYPESCRIPT_DIR, 'lib', 'getExePath.js')).href)
    .then((module: { default: () => string }) => ({ file: module.default(), args: [] }))
    .catch(() => ({ file: process.execPath, args: [path.join(TYPESCRIPT_DIR, 'bin', 'tsc')] }));
  return compiler;
}
const CONFIG_DIR = path.join(ENGINE_ROOT, 'node_modules', '.cache', 'tracecraft');

let configs = 0;

/**
 * A tsconfig that checks exactly the exercise's files with the workbook's compiler options.
 * It lives under the workbook's node_modules (so `types: ["node"]` resolves) and only for one run.
 */
async function writeConfig(name: string, files: readonly string[]): Promise<string> {
  const file = path.join(CONFIG_DIR, `tsconfig.${name}.${process.pid}.${++configs}.json`);
  await mkdir(CONFIG_DIR, { recursive: true });
  const config = {
    extends: path.join(ENGINE_ROOT, 'tsconfig.json'),
    compilerOptions: { noEmit: true },
    include: [...files],
    exclude: [],
  };
  await writeFile(file, JSON.stringify(config, null, 2));
  return file;
}

/**
 * Type-checks any set of files (absolute paths) with the workbook's compiler options: `pass`,
 * `fail` with the compiler's errors, or undefined when the compiler itself could not run.
 */
export async function typecheckFiles(root: string, name: string, files: readonly string[]): Promise<TestResult | undefined> {
  const config = await writeConfig(name, files);
  try {
    return await runCompiler(root, config);
  } finally {
    await rm(config, { force: true });
  }
}

/**
 * Type-checks the learner's files. Resolves to a check result: `pass`, or `fail` with the
 * compiler's errors (file, line, column and a code frame). Undefined when the compiler itself
 * could not run, so a broken toolchain never blames the learner.
 */
export function typecheckExercise(root: string, exercise: Exercise): Promise<TestResult | undefined> {
  return typecheckFiles(root, exercise.id, exercise.files.map((f) => path.join(exercise.dir, f)));
}

async function runCompiler(root: string, config: string): Promise<TestResult | undefined> {
  const { file, args } = await findCompiler();
  return new Promise((resolve) => {
    const child = spawn(file, [...args, '-p', config, '--pretty', 'true', '--singleThreaded'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => {
      if (code === 0) return resolve({ name: TYPECHECK_NAME, status: 'pass' });
      const text = strip(output).trim();
      // Exit code 1 with "error TS" lines is the learner's; anything else is the toolchain's.
      if (code !== 1 && code !== 2) return resolve(undefined);
      if (!/error TS\d+/.test(text)) return resolve(undefined);
      resolve({ name: TYPECHECK_NAME, status: 'fail', message: text });
    });
  });
}
