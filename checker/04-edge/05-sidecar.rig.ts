/*
 * The sidecar checks' rig: the checks' own app and the learner's sidecar started side by side as
 * child processes (both exporting to the check's OTLP receiver), and requests sent through the sidecar.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail, random, startProcess, targetFolder, type ChildService, type OtlpReceiver, type SpanNode } from '#checks';
import { httpRequest } from '#kit';

export const EXERCISE = '04-edge/05-sidecar';
const APP_ENTRY = fileURLToPath(new URL('./05-sidecar.app.ts', import.meta.url));
const READY = /listening on (\d+)/;
/** Both processes send their batches this often: the checks wait for spans, not for the 5 s default. */
const SCHEDULE_DELAY_MS = '50';

export interface Pair {
  app: ChildService;
  sidecar: ChildService;
  appPort: number;
  appName: string;
  sidecarName: string;
  timeoutMs: number;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** From sending to the whole answer. */
  ms: number;
}

/** Ports free right now, held together while they are chosen so that the two are different. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** How long the learner's sidecar may take to print that it listens: well inside a check's limit. */
const READY_MS = 3000;

/**
 * Starts the app and the sidecar in front of it, at the same time: each start is mostly node loading
 * the SDK. The app is traced only for the checks that read its spans (`tracedApp`).
 */
export async function startPair(otlp: OtlpReceiver, options: { timeoutMs?: number; tracedApp?: boolean } = {}): Promise<Pair> {
  const [appPort = 0, sidecarPort = 0] = await freePorts(2);
  const appName = `orders-${random.word(5)}`;
  const sidecarName = `${appName}-sidecar`;
  const timeoutMs = options.timeoutMs ?? 2000;
  const telemetry = { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: SCHEDULE_DELAY_MS };
  const [app, sidecar] = await Promise.all([
    startProcess(APP_ENTRY, { name: 'the app', env: { ...telemetry, PORT: String(appPort), OTEL_SERVICE_NAME: appName, APP_TRACING: options.tracedApp ? 'on' : 'off' }, ready: READY }),
    startProcess(path.join(targetFolder(EXERCISE), 'sidecar.ts'), {
      name: 'your sidecar',
      env: { ...telemetry, PORT: String(sidecarPort), APP_URL: `http://127.0.0.1:${appPort}`, APP_TIMEOUT_MS: String(timeoutMs), OTEL_SERVICE_NAME: sidecarName },
      ready: READY,
      // Well inside a check's limit: a sidecar stuck at load is said to be so, with what it printed.
      readyTimeoutMs: READY_MS,
    }),
  ]);
  return { app, sidecar, appPort, appName, sidecarName, timeoutMs };
}

/** One request through the sidecar; no answer in time fails the check in words. */
export async function send(
  pair: Pair,
  method: string,
  target: string,
  options: { headers?: OutgoingHttpHeaders; body?: string; timeoutMs?: number; late?: string } = {},
): Promise<Reply> {
  const began = performance.now();
  const timeoutMs = options.timeoutMs ?? 2500;
  const response = await httpRequest(`${pair.sidecar.url}${target}`, {
    method,
    headers: options.headers ?? {},
    ...(options.body !== undefined && { body: options.body }),
    timeoutMs,
  }).catch((error: unknown) => fail(`${method} ${target} through the sidecar got no answer within ${timeoutMs} ms${options.late ? `: ${options.late}` : ''} (${(error as Error).message})`));
  return { status: response.status, headers: response.headers, body: response.body, ms: performance.now() - began };
}

/** The app's echo of what it received. */
export interface Echo {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export function echoOf(reply: Reply, what: string): Echo {
  try {
    return JSON.parse(reply.body) as Echo;
  } catch {
    return fail(`${what}: the answer is not the app's JSON echo (status ${reply.status}): ${JSON.stringify(reply.body.slice(0, 200))}`);
  }
}

/** A random W3C trace context, sampled, as a caller upstream of the sidecar would send it. */
export function callerContext(): { traceId: string; spanId: string; traceparent: string } {
  const hex = (length: number): string => Array.from({ length }, () => random.pick([...'0123456789abcdef'])).join('');
  const traceId = hex(32);
  const spanId = hex(16);
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

export function serviceOf(span: SpanNode): unknown {
  return span.resource?.['service.name'];
}

export function orderPath(): { id: string; path: string } {
  const id = random.id('ord-');
  return { id, path: `/orders/${id}` };
}
