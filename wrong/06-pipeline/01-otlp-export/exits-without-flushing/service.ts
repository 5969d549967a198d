/*
 * The orders service, run as its own process: `node service.ts`, configured from the environment
 * like every service you deploy.
 *   PORT                 where to listen (0: any free port); it prints "listening on <port>"
 *   SHUTDOWN_GRACE_MS    how long a shutdown may take before the service leaves anyway (default 5000)
 *   OTEL_*               read by the SDK: see telemetry.ts
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleOrders } from './orders.ts';
import { startTelemetry } from './telemetry.ts';

const telemetry = startTelemetry();
const graceMs = Number(process.env['SHUTDOWN_GRACE_MS'] ?? 5000);

const server = http.createServer(async (request, response) => {
  const answer = await handleOrders(request);
  response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
});

server.listen(Number(process.env['PORT'] ?? 8080), '127.0.0.1', () => {
  console.log(`listening on ${(server.address() as AddressInfo).port}`);
});

// An orchestrator sends SIGTERM before it stops a container, and SIGKILL once its own grace period is over.
process.once('SIGTERM', () => {
  server.close();
  process.exit(0);
});
