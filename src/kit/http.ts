/**
 * Real HTTP on loopback, without the ceremony: start a node:http server on an ephemeral
 * port of 127.0.0.1, send a plain request with a time limit, read a request body.
 */
import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A request handler, like node:http's. What it returns is ignored, except a promise: when that
 * promise rejects (or the handler throws), the request is answered with a 500 that says why.
 */
export type HttpHandler = (request: IncomingMessage, response: ServerResponse) => unknown;

export interface LoopbackServer {
  /** The base URL, without a trailing slash: `http://127.0.0.1:54321`. */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Stops listening and closes every connection, idle or busy; resolves once the server is closed. Safe to call twice. */
  close(): Promise<void>;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string;
  /** Rejects when no complete answer arrived in time. Default 2000 ms. */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export const HTTP_MESSAGES = {
  handlerFailed: (error: unknown) => `the request handler failed: ${error instanceof Error ? error.message : String(error)}`,
  listenFailed: 'failed to start an HTTP server on 127.0.0.1',
  timedOut: (method: string, url: string, ms: number) => `no answer to ${method} ${url} within ${ms} ms`,
  requestFailed: (method: string, url: string, error: Error) => `${method} ${url} failed: ${error.message}`,
} as const;

/** Starts `handler` on 127.0.0.1, on a port the system picks. */
export async function startHttpServer(handler: HttpHandler): Promise<LoopbackServer> {
  const server = http.createServer((request, response) => {
    const answerFailure = (error: unknown): void => {
      if (response.headersSent) {
        response.destroy(error instanceof Error ? error : undefined);
        return;
      }
      response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(HTTP_MESSAGES.handlerFailed(error));
    };
    try {
      const result = handler(request, response);
      if (result instanceof Promise) result.catch(answerFailure);
    } catch (error) {
      answerFailure(error);
    }
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(new Error(`${HTTP_MESSAGES.listenFailed}: ${error.message}`, { cause: error }));
    server.once('error', onError);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close() {
      closing ??= new Promise<void>((resolve) => {
        // close() alone waits for keep-alive and in-flight connections; a test must not.
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Sends one request on a fresh connection (no keep-alive) and reads the whole answer as text. */
export function httpRequest(url: string | URL, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const method = options.method ?? 'GET';
  const timeoutMs = options.timeoutMs ?? 2000;
  const target = String(url);
  return new Promise<HttpResponse>((resolve, reject) => {
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(new Error(HTTP_MESSAGES.requestFailed(method, target, error), { cause: error }));
    };
    const request = http.request(target, { method, headers: options.headers, agent: false }, (response) => {
      readBody(response).then((body) => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
      }, fail);
    });
    const timer = setTimeout(() => {
      reject(new Error(HTTP_MESSAGES.timedOut(method, target, timeoutMs)));
      request.destroy();
    }, timeoutMs);
    request.once('error', fail);
    request.end(options.body);
  });
}

/** Reads a request or response body as UTF-8 text. */
export async function readBody(message: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of message) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
