// The entry of a spare checker thread (see warm-pool.ts). While it waits for its first checker
// file, it loads what every check loads (the OpenTelemetry SDK, the test runtime), so that work
// is done before the learner saves, not after. Then it takes the environment vitest gives the
// file's thread, and only then loads vitest's worker, which reads it. Plain JavaScript: worker
// threads run no TypeScript.
import { workerData } from 'node:worker_threads';

const { vitestEntry, preload, handover } = workerData;
await Promise.allSettled(preload.map((specifier) => import(specifier)));
const env = await new Promise((resolve) => handover.once('message', resolve));
handover.close();
for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
for (const [key, value] of Object.entries(env)) if (value !== undefined) process.env[key] = value;
await import(vitestEntry);
