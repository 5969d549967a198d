/**
 * A fake HTTP service on loopback, for exercises whose code calls other services over real HTTP
 * (a strangler fig's legacy and modern sides, a gateway's upstreams). Every request makes a SERVER
 * span that continues the caller's trace from its `traceparent` header, is recorded, and is answered
 * what the check scripts: a reply at once, or later (a promise the check settles, to keep a call in
 * flight). A request the caller gives up on (it aborts, or its connection closes) is recorded as
 * `aborted`: that is how a check sees that a slow call was really cut off.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import { readBody, startHttpServer, type LoopbackServer } from './http.ts';

/** What one request is answered. `body` is sent as JSON, unless it is a string (sent as text). */
export interface FakeServiceReply {
  /** Default 200. */
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type FakeServiceOutcome = 'pending' | 'answered' | 'aborted';

export interface FakeServiceRequest {
  /** 0 for the first request, in arrival order. */
  readonly index: number;
  readonly method: string;
  /** The path with its query string, as it arrived: `/orders/7?expand=lines`. */
  readonly url: string;
  /** The path alone: `/orders/7`. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** `pending` until it is answered, or until the caller gave up first (`aborted`). */
  readonly outcome: FakeServiceOutcome;
  /** Resolves with the final outcome once the request is answered or aborted. */
  readonly done: Promise<FakeServiceOutcome>;
}

export interface FakeServiceOptions {
  /** Who answers: the SERVER spans come from the tracer `tracecraft.<name>`. */
  name: string;
  /** The route template of the SERVER spans (`/orders/:id`): span `GET /orders/:id`, `http.route`. Default: the method alone. */
  route?: string;
  /** The answer to a request; a promise keeps the request in flight until it settles. A throw answers 500. */
  reply(request: FakeServiceRequest): FakeServiceReply | Promise<FakeServiceReply>;
}

export interface FakeService {
  readonly name: string;
  /** The base URL, without a trailing slash: `http://127.0.0.1:54321`. */
  readonly url: string;
  /** Every request so far, in arrival order. */
  readonly requests: readonly FakeServiceRequest[];
  /** Stops the service; requests still in flight are cut off (recorded as aborted). Safe to call twice. */
  close(): Promise<void>;
}

export const FAKE_SERVICE_MESSAGES = {
  replyFailed: (name: string, error: unknown) =>
    `fake service "${name}" could not answer: ${error instanceof Error ? error.message : String(error)}`,
  aborted: 'the caller gave up before the answer',
} as const;

interface MutableRequest {
  index: number;
  method: string;
  url: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  outcome: FakeServiceOutcome;
  done: Promise<FakeServiceOutcome>;
}

/** Starts a fake service on 127.0.0.1, on a port the system picks. */
export async function startFakeService(options: FakeServiceOptions): Promise<FakeService> {
  const tracer = trace.getTracer(`tracecraft.${options.name}`);
  const requests: MutableRequest[] = [];
  const server: LoopbackServer = await startHttpServer(async (request, response) => {
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    const path = url.split('?', 1)[0] ?? '/';
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: method,
      [ATTR_URL_PATH]: path,
      ...(options.route === undefined ? {} : { [ATTR_HTTP_ROUTE]: options.route }),
    };
    const span = tracer.startSpan(options.route === undefined ? method : `${method} ${options.route}`, { kind: SpanKind.SERVER, attributes }, parent);
    let finish!: (outcome: FakeServiceOutcome) => void;
    const record: MutableRequest = {
      index: requests.length,
      method,
      url,
      path,
      headers: { ...request.headers },
      body: '',
      outcome: 'pending',
      done: new Promise((resolve) => {
        finish = resolve;
      }),
    };
    requests.push(record);
    const settle = (outcome: Exclude<FakeServiceOutcome, 'pending'>): void => {
      if (record.outcome !== 'pending') return;
      record.outcome = outcome;
      if (outcome === 'aborted') fail(span, 'aborted', FAKE_SERVICE_MESSAGES.aborted);
      span.end();
      finish(outcome);
    };
    // A response closed before it was ended: the caller aborted, or its connection went away.
    response.once('close', () => {
      if (!response.writableEnded) settle('aborted');
    });
    try {
      record.body = await readBody(request);
      const reply = await options.reply(record);
      if (record.outcome !== 'pending') return;
      send(response, span, reply);
      settle('answered');
    } catch (error) {
      if (record.outcome !== 'pending') return;
      fail(span, error instanceof Error ? error.name : typeof error, FAKE_SERVICE_MESSAGES.replyFailed(options.name, error));
      send(response, span, { status: 500, body: FAKE_SERVICE_MESSAGES.replyFailed(options.name, error) });
      settle('answered');
    }
  });
  return {
    name: options.name,
    url: server.url,
    requests,
    close: () => server.close(),
  };
}

function fail(span: Span, type: string, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.setAttribute(ATTR_ERROR_TYPE, type);
}

function send(response: ServerResponse, span: Span, reply: FakeServiceReply): void {
  const status = reply.status ?? 200;
  const text = typeof reply.body === 'string' ? reply.body : reply.body === undefined ? '' : JSON.stringify(reply.body);
  const type = typeof reply.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  response.writeHead(status, { 'content-type': type, ...reply.headers }).end(text);
}
