/**
 * Vitest's threads pool, with a spare thread always warming up. Each checker file still gets a
 * fresh thread of its own (isolation is kept: nothing of one run, or one exercise, reaches the
 * next), but the thread was started, and the test runtime and the OpenTelemetry SDK loaded into
 * it, while the learner was typing. Vitest starts a thread per file when asked; this pool hands
 * over the spare instead and starts the next one.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { PoolOptions, PoolRunnerInitializer, PoolWorker } from 'vitest/node';
import { ENGINE_ROOT } from './target-plugin.ts';

export const WARM_POOL_NAME = 'tracecraft-threads';

/** Packages every check imports: loaded into a spare thread before it is needed. */
const PRELOAD = [
  '@opentelemetry/api',
  '@opentelemetry/core',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/sdk-trace-node',
  '@opentelemetry/context-async-hooks',
  'vitest',
];

const ENTRY = path.join(ENGINE_ROOT, 'src', 'runner', 'warm-worker.mjs');

interface Spare {
  key: string;
  thread: Worker;
}

/** The thread warming up for the next file, if any. One is enough: a learner saves one file at a time. */
let spare: Spare | undefined;

function keyOf(options: PoolOptions): string {
  return JSON.stringify([options.env, options.execArgv, options.distPath]);
}

/**
 * The heap a checker thread may fill. Checks need a few hundred megabytes at most; a loop that
 * keeps allocating reaches this in a second and ends its own thread (ERR_WORKER_OUT_OF_MEMORY)
 * instead of taking the machine's memory.
 */
export const CHECK_HEAP_LIMIT_MB = 512;

/** What the grader writes when a checker thread reached its heap limit (the CLI's Grader looks for it). */
export const OUT_OF_MEMORY_MARK = 'ERR_WORKER_OUT_OF_MEMORY: a checker thread reached its heap limit (JavaScript heap out of memory)';

function spawn(options: PoolOptions): Worker {
  const thread = new Worker(ENTRY, {
    env: options.env,
    execArgv: options.execArgv,
    resourceLimits: { maxOldGenerationSizeMb: CHECK_HEAP_LIMIT_MB },
    stdout: true,
    stderr: true,
    workerData: { vitestEntry: path.join(options.distPath, 'workers', 'threads.js'), preload: PRELOAD },
  });
  // Output reaches the runner through vitest's own console capture; what is written to the raw streams is drained.
  thread.stdout.resume();
  thread.stderr.resume();
  // Vitest takes a thread that dies as a crash of the whole grader; the CLI reads the reason from its stderr.
  thread.on('error', (error: Error & { code?: string }) => {
    if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') process.stderr.write(`${OUT_OF_MEMORY_MARK}\n`);
  });
  return thread;
}

/** A warm thread for these options: the spare when it matches, a new one otherwise. */
function take(options: PoolOptions): Worker {
  const key = keyOf(options);
  const found = spare;
  spare = undefined;
  if (found && found.key === key) return found.thread;
  void found?.thread.terminate();
  return spawn(options);
}

/**
 * Starts warming the next thread once a file is done: never while a file is being checked, when
 * it would take the CPU from it (a cold `check` would wait for two threads instead of one).
 */
function prepare(options: PoolOptions): void {
  if (spare) return;
  const thread = spawn(options);
  // A spare must never keep the grader alive, or outlive it.
  thread.unref();
  spare = { key: keyOf(options), thread };
}

/** Ends the spare thread (when the grader closes). */
export async function dropSpare(): Promise<void> {
  const found = spare;
  spare = undefined;
  await found?.thread.terminate();
}

class WarmThreadsWorker implements PoolWorker {
  readonly name = WARM_POOL_NAME;
  private thread: Worker | undefined;

  constructor(private readonly options: PoolOptions) {}

  on(event: string, callback: (arg: unknown) => void): void {
    this.current().on(event, callback);
  }

  off(event: string, callback: (arg: unknown) => void): void {
    this.current().off(event, callback);
  }

  send(message: unknown): void {
    this.current().postMessage(message);
  }

  deserialize(data: unknown): unknown {
    return data;
  }

  async start(): Promise<void> {
    this.thread ??= take(this.options);
    this.thread.ref();
  }

  async stop(): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    await thread?.terminate();
    prepare(this.options);
  }

  private current(): Worker {
    if (!this.thread) throw new Error('the checker thread was stopped or never started');
    return this.thread;
  }
}

export const warmThreadsPool: PoolRunnerInitializer = {
  name: WARM_POOL_NAME,
  createPoolWorker: (options) => new WarmThreadsWorker(options),
};
