/**
 * The grader process: hosts one warm vitest session and runs checker files when the CLI asks.
 * It runs apart from the CLI so that a learner's infinite loop, or a crash of vitest itself,
 * can be ended by killing this process group without taking the CLI down.
 */
import type { FromGrader, GraderArgs, ToGrader } from './protocol.ts';
import { prepareEarly } from './warm-pool.ts';

// The first checker thread starts before vitest loads (about a quarter of a second), on the other core.
prepareEarly();
const { VitestSession } = await import('./vitest-session.ts');

function send(message: FromGrader): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as GraderArgs;
  let runId = 0;
  const session = await VitestSession.create({
    ...args,
    events: {
      moduleQueued: (file) => send({ type: 'module-queued', runId, file }),
      moduleStart: (file) => send({ type: 'module-start', runId, file }),
      moduleCollected: (file, limitMs) => send({ type: 'module-collected', runId, file, limitMs }),
      testStart: (file, name, limitMs) => send({ type: 'test-start', runId, file, name, limitMs }),
      testEnd: (file, name) => send({ type: 'test-end', runId, file, name }),
      moduleEnd: (result) => send({ type: 'module-end', runId, result }),
    },
  });
  // Runs are queued: vitest runs one set of specifications at a time.
  let queue: Promise<void> = Promise.resolve();
  process.on('message', (message: ToGrader) => {
    // Warming only transforms files ahead of time; it need not wait for a run to finish.
    if (message.type === 'warm') return session.warm(message.files);
    queue = queue.then(async () => {
      if (message.type === 'invalidate') session.invalidate(message.files);
      if (message.type === 'run') {
        runId = message.runId;
        // Server URLs resolved by the CLI; the checker processes vitest starts inherit them.
        Object.assign(process.env, message.env);
        const { unhandled } = await session.run(message.files);
        send({ type: 'run-end', runId, unhandled });
      }
    }).catch((error: unknown) => send({ type: 'fatal', message: error instanceof Error ? error.stack ?? error.message : String(error) }));
  });
  // When the CLI goes away, so does its grader, with every process under it: vitest's workers and the
  // services checks started are in this process's group (the CLI started it as a group leader).
  process.on('disconnect', () => {
    killOwnGroup();
    process.exit(0);
  });
  send({ type: 'ready' });
}

/** Ends this process's group, this process included; nothing when it leads no group (started without `detached`). */
function killOwnGroup(): void {
  if (process.platform === 'win32') return;
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    // Not a group leader: there is no group of ours to end.
  }
}

main().catch((error: unknown) => {
  send({ type: 'fatal', message: error instanceof Error ? error.stack ?? error.message : String(error) });
  process.exit(1);
});
