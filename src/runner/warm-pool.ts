/**
 * Vitest's threads pool, with a spare thread always warming up. Each checker file still gets a
 * fresh thread of its own (isolation is kept: nothing of one run, or one exercise, reaches the
 * next), but the thread was started, and the test runtime and the OpenTelemetry SDK loaded into
 * it, while the learner was typing. Vitest starts a thread per file when asked; this pool hands
 * over the spare instead and starts the next one.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
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

/**
 * The Node options and the vitest build of the last checker thread, remembered across graders:
 * a new grader starts its first spare with them before vitest has said what it wants, so that
 * the thread starts on the second core while vitest loads on the first.
 */
const REMEMBERED = path.join(ENGINE_ROOT, 'node_modules', '.cache', 'tracecraft', 'checker-thread.json');

/** What a thread must be started with; the environment is handed over later, when it is taken. */
interface ThreadShape {
  execArgv: string[];
  distPath: string;
}

interface Spare {
  key: string;
  thread: Worker;
  /** Where the thread waits for its environment before it loads vitest's worker. */
  handover: MessagePort;
}

/** The thread warming up for the next file, if any. One is enough: a learner saves one file at a time. */
let spare: Spare | undefined;

const keyOf = (shape: ThreadShape): string => JSON.stringify([shape.execArgv, shape.distPath]);

/**
 * The heap a checker thread may fill. Checks need a few hundred megabytes at most; a loop that
 * keeps allocating reaches this in a second and ends its own thread (ERR_WORKER_OUT_OF_MEMORY)
 * instead of taking the machine's memory.
 */
export const CHECK_HEAP_LIMIT_MB = 512;

/** What the grader writes when a checker thread reached its heap limit (the CLI's Grader looks for it). */
export const OUT_OF_MEMORY_MARK = 'ERR_WORKER_OUT_OF_MEMORY: a checker thread reached its heap limit (JavaScript heap out of memory)';

function spawn(shape: ThreadShape): Spare {
  const { port1, port2 } = new MessageChannel();
  const thread = new Worker(ENTRY, {
    execArgv: shape.execArgv,
    resourceLimits: { maxOldGenerationSizeMb: CHECK_HEAP_LIMIT_MB },
    stdout: true,
    stderr: true,
    workerData: { vitestEntry: path.join(shape.distPath, 'workers', 'threads.js'), preload: PRELOAD, handover: port2 },
    transferList: [port2],
  });
  // Output reaches the runner through vitest's own console capture; what is written to the raw streams is drained.
  thread.stdout.resume();
  thread.stderr.resume();
  // Vitest takes a thread that dies as a crash of the whole grader; the CLI reads the reason from its stderr.
  thread.on('error', (error: Error & { code?: string }) => {
    if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') process.stderr.write(`${OUT_OF_MEMORY_MARK}\n`);
  });
  port1.unref();
  return { key: keyOf(shape), thread, handover: port1 };
}

/**
 * A warm thread for these options: the spare when it matches, a new one otherwise. Either way it
 * gets vitest's environment for the file before vitest's worker loads, as a fresh thread would.
 */
function take(options: PoolOptions): Worker {
  const shape = { execArgv: options.execArgv, distPath: options.distPath };
  const found = spare;
  spare = undefined;
  let taken = found;
  if (!taken || taken.key !== keyOf(shape)) {
    void found?.thread.terminate();
    taken = spawn(shape);
    remember(shape);
  }
  taken.handover.postMessage(options.env);
  taken.handover.close();
  return taken.thread;
}

/**
 * Starts warming the next thread once a file is done: never while a file is being checked, when
 * it would take the CPU from it (a cold `check` would wait for two threads instead of one).
 */
function prepare(shape: ThreadShape): void {
  if (spare) return;
  spare = spawn(shape);
  // A spare must never keep the grader alive, or outlive it.
  spare.thread.unref();
}

/**
 * Starts the first spare of a new grader at once, shaped like the last grader's threads, while
 * vitest itself is still loading: nothing is being checked yet, and the second core is idle.
 * Nothing when no grader ran before (the first thread is then started when vitest asks for it).
 */
export function prepareEarly(): void {
  try {
    const shape = JSON.parse(readFileSync(REMEMBERED, 'utf8')) as ThreadShape;
    if (Array.isArray(shape.execArgv) && typeof shape.distPath === 'string') prepare(shape);
  } catch {
    // Never remembered, or unreadable: the first file starts its own thread.
  }
}

function remember(shape: ThreadShape): void {
  try {
    mkdirSync(path.dirname(REMEMBERED), { recursive: true });
    writeFileSync(REMEMBERED, JSON.stringify(shape));
  } catch {
    // Only a head start is lost.
  }
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
    prepare({ execArgv: this.options.execArgv, distPath: this.options.distPath });
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
