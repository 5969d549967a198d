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
  // Leave within the grace period, flushed or not: a collector that is down must not hold the process.
  setTimeout(() => {
    console.error(`shutdown took longer than ${graceMs} ms: exiting before every span was sent`);
    process.exit(1);
  }, graceMs).unref();
  // Requests in flight finish first: their spans end only when they answer.
  server.close(() => {
    telemetry.shutdown().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
});
