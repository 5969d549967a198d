/*
 * The sidecar's HTTP client: one request to the app, its whole answer read into memory.
 * Plain node:http, so that what goes out is exactly what the sidecar chose to send (fetch would add
 * headers of its own and decompress answers).
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

export interface AppRequest {
  method: string;
  /** The path and query, as the caller sent them: `/orders/42?expand=lines`. */
  path: string;
  headers: OutgoingHttpHeaders;
  body: Buffer;
}

export interface AppAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Sends `request` to the app at `appUrl`. Rejects when no whole answer came: the app refused the
 * connection, broke it, or `signal` aborted the request (which closes the connection to the app).
 */
export function callApp(appUrl: URL, request: AppRequest, signal?: AbortSignal): Promise<AppAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(new URL(request.path, appUrl), { method: request.method, headers: request.headers, signal }, (answer) => {
      readAll(answer).then((body) => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body }), reject);
    });
    outgoing.once('error', reject);
    outgoing.end(request.body);
  });
}

/** Reads a request or an answer to its end. */
export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
