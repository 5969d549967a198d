import http, { type IncomingMessage } from 'node:http';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';
import { readBody } from '#kit';

const tracer = trace.getTracer('tracecraft.facade');

export type Side = 'legacy' | 'modern';

/** What an upstream answered, as the facade passes it on. */
export interface UpstreamAnswer {
  status: number;
  contentType: string;
  body: string;
}

export interface CallOptions {
  /** Aborting it cuts the call off: the request is abandoned and the call rejects. */
  signal?: AbortSignal;
  /** Put on the CLIENT span, beside the HTTP ones. */
  attributes?: Attributes;
}

/**
 * GETs `url` (a path with its query string) from the `side` service at `baseUrl`, as a CLIENT span
 * named after the side, with the trace context in the request headers. A 4xx or 5xx answer resolves
 * (the span is ERROR with error.type = the status code); a call that gets no answer rejects, and a call
 * cut off through its signal is ERROR with error.type = "timeout".
 */
export function callUpstream(side: Side, baseUrl: string, url: string, options: CallOptions = {}): Promise<UpstreamAnswer> {
  const target = new URL(url, baseUrl);
  const attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: 'GET',
    [ATTR_URL_FULL]: target.href,
    [ATTR_SERVER_ADDRESS]: target.hostname,
    [ATTR_SERVER_PORT]: Number(target.port),
    ...options.attributes,
  };
  return tracer.startActiveSpan(side, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      const headers: Record<string, string> = {};
      propagation.inject(context.active(), headers);
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        http.get(target, { headers, signal: options.signal }, resolve).once('error', reject);
      });
      const body = await readBody(response);
      const status = response.statusCode ?? 0;
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (status >= 400) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute(ATTR_ERROR_TYPE, String(status));
      }
      return { status, contentType: response.headers['content-type'] ?? 'text/plain', body };
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute(ATTR_ERROR_TYPE, options.signal?.aborted ? 'timeout' : error instanceof Error ? error.name : typeof error);
      throw error;
    } finally {
      span.end();
    }
  });
}
