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

// TODO: on SIGTERM (what an orchestrator sends before it stops a container, SIGKILL following
//       once its own grace period is over): stop taking connections and let the requests in flight
//       finish (server.close), then send every buffered span (telemetry.shutdown()) and exit with
//       code 0. Whatever happens, exit within graceMs.
