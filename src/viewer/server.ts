/**
 * The viewer's loopback server: 127.0.0.1 only, on a port the system picks, every path under an
 * unguessable token (`http://127.0.0.1:<port>/<token>/`), so another user of the machine or a web
 * page in the learner's browser cannot read the learner's traces. It serves the page, the part of
 * it that changes (`fragment`), and server-sent events (`events`) that tell the page a new run is
 * there. It never keeps the process alive: learn exits when the learner quits, open tabs or not.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { contentSecurityPolicy } from './page.ts';

export interface ViewerContent {
  /** The whole page, its style and script allowed by `nonce`. */
  page(nonce: string): string;
  /** The part of the page that changes from run to run. */
  fragment(): string;
  /** Changes with every new run. */
  version(): number;
  /** A check is running now. */
  checking(): boolean;
}

export interface ViewerServer {
  /** The page's address, token included: the one thing to print. */
  readonly url: string;
  /** Tells every open page that a run was graded (it fetches the new one). */
  graded(): void;
  /** Tells every open page that a check started. */
  checkingNow(): void;
  close(): Promise<void>;
}

export const SERVER_TEXT = {
  notFound: 'Not found. The viewer\'s address is the one npm run learn printed, token included.',
  badHost: 'This server answers only to 127.0.0.1.',
  failedToListen: (reason: string) => `failed to start the trace viewer on 127.0.0.1: ${reason}`,
} as const;

/** A keep-alive comment often enough that no proxy or browser times the stream out. */
const HEARTBEAT_MS = 15_000;

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
} as const;

function refuse(response: ServerResponse, code: number, message: string): void {
  response.writeHead(code, { ...COMMON_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
  response.end(message);
}

/** Starts the server; resolves once it listens. */
export async function startViewerServer(content: ViewerContent): Promise<ViewerServer> {
  const token = randomBytes(24).toString('base64url');
  const streams = new Set<ServerResponse>();
  let port = 0;

  const send = (event: string, data: string): void => {
    for (const stream of streams) stream.write(`event: ${event}\ndata: ${data}\n\n`);
  };

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    // A page elsewhere could reach 127.0.0.1 under a name it controls (DNS rebinding): answer only to our own host.
    const host = request.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return refuse(response, 421, SERVER_TEXT.badHost);
    if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(response, 405, SERVER_TEXT.notFound);
    const { pathname } = new URL(request.url ?? '/', `http://${host}`);
    const prefix = `/${token}/`;
    if (!pathname.startsWith(prefix)) return refuse(response, 404, SERVER_TEXT.notFound);
    const route = pathname.slice(prefix.length);
    if (route === '') {
      const nonce = randomBytes(16).toString('base64');
      response.writeHead(200, {
        ...COMMON_HEADERS,
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': contentSecurityPolicy(nonce, true),
      });
      return void response.end(request.method === 'HEAD' ? undefined : content.page(nonce));
    }
    if (route === 'fragment') {
      response.writeHead(200, { ...COMMON_HEADERS, 'content-type': 'text/html; charset=utf-8' });
      return void response.end(request.method === 'HEAD' ? undefined : content.fragment());
    }
    if (route === 'events') {
      response.writeHead(200, { ...COMMON_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
      // The page reconnects a second after learn comes back; it is told the current run at once.
      response.write(`retry: 1000\n\nevent: run\ndata: ${content.version()}\n\n`);
      if (content.checking()) response.write('event: checking\ndata: \n\n');
      streams.add(response);
      request.socket.setKeepAlive(true);
      response.on('close', () => streams.delete(response));
      return;
    }
    refuse(response, 404, SERVER_TEXT.notFound);
  };

  const server = createServer((request, response) => {
    try {
      handle(request, response);
    } catch (error) {
      if (!response.headersSent) refuse(response, 500, error instanceof Error ? error.message : String(error));
      else response.end();
    }
  });
  // Open connections must not keep learn running after the learner quits.
  server.on('connection', (socket) => socket.unref());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(SERVER_TEXT.failedToListen(error.message))));
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref();
  port = (server.address() as AddressInfo).port;
  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(': still here\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();

  return {
    url: `http://127.0.0.1:${port}/${token}/`,
    graded: () => send('run', String(content.version())),
    checkingNow: () => send('checking', ''),
    close: async () => {
      clearInterval(heartbeat);
      for (const stream of streams) stream.end();
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
