// The entry of a spare checker thread (see warm-pool.ts). While it waits for its first checker
// file, it loads what every check loads (the OpenTelemetry SDK, the test runtime), so that work
// is done before the learner saves, not after. Plain JavaScript: worker threads run no TypeScript.
import { workerData } from 'node:worker_threads';

const { vitestEntry, preload } = workerData;
await Promise.allSettled(preload.map((specifier) => import(specifier)));
await import(vitestEntry);
