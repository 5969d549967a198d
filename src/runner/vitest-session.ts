import path from 'node:path';
import { Writable } from 'node:stream';
import type { UserConsoleLog } from 'vitest';
import { createVitest, type TestCase, type TestModule, type Vitest } from 'vitest/node';
import type { SerializedError } from '@vitest/utils';
import { ENGINE_IMPORTS, ENGINE_ROOT, targetPlugin, type Target } from './target-plugin.ts';
import { moduleResult, unhandledMessage } from './classify.ts';
import { ENV } from '../checks/contract.ts';
import type { ModuleResult } from './results.ts';
import { OutputLog } from './output.ts';
import { dropSpare, warmThreadsPool } from './warm-pool.ts';

export interface SessionEvents {
  /** A worker took the file: it is being loaded (transformed and imported) from now on. */
  moduleQueued(file: string): void;
  moduleStart(file: string): void;
  /** `limitMs`: the longest time limit of the file's checks. */
  moduleCollected(file: string, limitMs: number): void;
  testStart(file: string, name: string, limitMs: number): void;
  testEnd(file: string, name: string): void;
  moduleEnd(result: ModuleResult): void;
}

export interface SessionOptions {
  root: string;
  target: Target;
  /** The folder `#target/` points at, when not `<root>/<target>`. */
  targetDir?: string | undefined;
  /** Per-check limit for a promise that never settles. */
  testTimeoutMs: number;
  /** Give each checker file a fresh worker (protects exercises from each other's faults and leftover state). */
  isolate: boolean;
  events: SessionEvents;
}

/**
 * A long-lived vitest instance that runs checker files on demand. Kept warm between runs,
 * so a re-check after a save only re-transforms what changed.
 */
export class VitestSession {
  private constructor(
    private readonly vitest: Vitest,
    private readonly unhandled: SerializedError[],
  ) {}

  static async create(options: SessionOptions): Promise<VitestSession> {
    const unhandled: SerializedError[] = [];
    const { events } = options;
    const startedAt = new Map<string, number>();
    const output = new OutputLog();
    const vitest = await createVitest(
      'test',
      {
        config: false,
        root: options.root,
        include: ['checker/**/*.test.ts'],
        watch: false,
        // Vitest's threads pool, with a spare thread warmed up ahead of each file (see warm-pool.ts).
        pool: warmThreadsPool,
        isolate: options.isolate,
        fileParallelism: true,
        maxWorkers: 2,
        testTimeout: options.testTimeoutMs,
        // Checks that read the learner's source (its imports) find the graded tree here: see targetFolder in #checks.
        env: { [ENV.targetDir]: options.targetDir ?? path.resolve(options.root, options.target) },
        hookTimeout: options.testTimeoutMs,
        teardownTimeout: 1000,
        dangerouslyIgnoreUnhandledErrors: false,
        printConsoleTrace: false,
        // Transformed modules are kept on disk between runs, so a cold `check` finds them ready.
        experimental: {
          // A wrong solution's tree is graded once: caching its transforms would only fill the disk.
          fsModuleCache: options.targetDir === undefined,
          fsModuleCachePath: path.join(ENGINE_ROOT, 'node_modules', '.cache', 'tracecraft', `vitest-${options.target}`),
        },
        // The learner's console output is captured per check by the reporter below, never printed.
        silent: false,
        reporters: [
          {
            onTestModuleQueued: (module: TestModule) => {
              startedAt.set(module.moduleId, performance.now());
              events.moduleQueued(module.moduleId);
            },
            onUserConsoleLog: (log: UserConsoleLog) => output.add(log),
            onTestModuleStart: (module: TestModule) => {
              if (!startedAt.has(module.moduleId)) startedAt.set(module.moduleId, performance.now());
              events.moduleStart(module.moduleId);
            },
            onTestModuleCollected: (module: TestModule) =>
              events.moduleCollected(module.moduleId, Math.max(options.testTimeoutMs, ...[...module.children.allTests()].map((t) => t.options.timeout ?? 0))),
            onTestCaseReady: (test: TestCase) => events.testStart(test.module.moduleId, test.fullName, test.options.timeout ?? options.testTimeoutMs),
            onTestCaseResult: (test: TestCase) => events.testEnd(test.module.moduleId, test.fullName),
            onTestModuleEnd: (module: TestModule) => {
              const began = startedAt.get(module.moduleId) ?? performance.now();
              startedAt.delete(module.moduleId);
              events.moduleEnd(moduleResult(module, performance.now() - began, output.take(module)));
            },
            onTestRunEnd: (_modules, errors) => {
              unhandled.push(...errors);
            },
          },
        ],
      },
      {
        plugins: [targetPlugin(options.root, options.target, options.targetDir)],
        logLevel: 'silent',
        // One cache for every workbook root (the project's fixture workbooks included).
        cacheDir: path.join(ENGINE_ROOT, 'node_modules', '.vite-tracecraft'),
        clearScreen: false,
        server: { watch: null },
      },
      { stdout: devNull(), stderr: devNull() },
    );
    const session = new VitestSession(vitest, unhandled);
    session.warm([ENGINE_IMPORTS['#checks'], ENGINE_IMPORTS['#kit']].filter((f): f is string => f !== undefined));
    return session;
  }

  /**
   * Transforms files (and what they import) before a run asks for them, so the first check after
   * start-up does not wait for the transforms. Vite shares in-flight transforms with later requests.
   */
  warm(files: string[]): void {
    const environment = this.vitest.getRootProject().vite.environments['ssr'];
    for (const file of files) void environment?.warmupRequest(path.resolve(file));
  }

  /** Runs the given checker files; results arrive through the events as each file ends. */
  async run(files: string[]): Promise<{ unhandled: { file: string | undefined; message: string }[] }> {
    this.unhandled.length = 0;
    const project = this.vitest.getRootProject();
    const specifications = files.map((file) => project.createSpecification(path.resolve(file)));
    await this.vitest.runTestSpecifications(specifications, false);
    return {
      unhandled: this.unhandled.map((error) => ({
        file: typeof error['VITEST_TEST_PATH'] === 'string' ? error['VITEST_TEST_PATH'] : undefined,
        message: unhandledMessage(error),
      })),
    };
  }

  /** Forgets what vitest knows of a changed file (and what imports it), so the next run reads it again. */
  invalidate(files: string[]): void {
    for (const file of files) this.vitest.invalidateFile(path.resolve(file));
  }

  async close(): Promise<void> {
    await dropSpare();
    await this.vitest.close();
  }
}

/** Vitest's own console output is not ours to show: results reach the CLI as data. */
function devNull(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}
