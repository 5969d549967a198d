import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
} from '@opentelemetry/semantic-conventions';
import type { Clock } from '#kit';

const tracer = trace.getTracer('tracecraft.rates');

export interface HttpResponse {
  status: number;
  /** Header names in lower case, as node:http gives them. */
  headers: Record<string, string>;
  body?: unknown;
}

/** The rates service over HTTP: resolves with any answer, 2xx to 5xx; rejects only when no answer came back. */
export interface RatesTransport {
  get(path: string): Promise<HttpResponse>;
}

export interface Rate {
  currency: string;
  rate: number;
}

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  baseDelayMs: number;
  /** The cap: no backoff delay is drawn from a range wider than this. */
  maxDelayMs: number;
}

export interface RetryEnv {
  clock: Clock;
  /** Like Math.random: a number in [0, 1). */
  random: () => number;
}

/** The rates service answered, with a status that is not a success. */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';

  constructor(
    readonly status: number,
    /** The answer's Retry-After, in milliseconds, when it had one. */
    readonly retryAfterMs?: number,
  ) {
    super(`the rates service answered ${status}`);
  }
}

/** Answers that say "not now", not "no": the request may succeed if sent again later. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** The delay before retry `retry` (1 for the first retry): full jitter, drawn from [0, min(cap, base · 2^retry)]. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number): number {
  return random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
}

/** Retry-After in milliseconds, when the answer has one in seconds. */
function retryAfterMs(response: HttpResponse): number | undefined {
  const value = response.headers['retry-after'];
  const seconds = value === undefined || value.trim() === '' ? NaN : Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function isRetryable(error: unknown): boolean {
  // No answer at all (a network error) is always worth another try.
  return error instanceof HttpStatusError ? RETRYABLE_STATUSES.has(error.status) : true;
}

function fail(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.setAttribute(ATTR_ERROR_TYPE, error instanceof HttpStatusError ? String(error.status) : (error as Error).name);
}

/** Fetches the exchange rate of `currency`, retrying the failures that may pass, with backoff. */
export function getRate(currency: string, transport: RatesTransport, policy: RetryPolicy, env: RetryEnv): Promise<Rate> {
  return tracer.startActiveSpan('get-rate', async (span) => {
    try {
      for (let retry = 0; ; retry++) {
        try {
          return await attempt(currency, transport, retry);
        } catch (error) {
          if (!isRetryable(error)) throw error;
          const hint = error instanceof HttpStatusError ? (error.retryAfterMs ?? 0) : 0;
          await env.clock.sleep(Math.max(hint, backoffDelay(retry + 1, policy, env.random)));
          if (retry + 1 >= policy.maxAttempts) throw error;
        }
      }
    } catch (error) {
      fail(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** One HTTP attempt, its own CLIENT span: resolves with the rate or rejects with why it failed. */
function attempt(currency: string, transport: RatesTransport, resendCount: number): Promise<Rate> {
  const attributes: Attributes = { [ATTR_HTTP_REQUEST_METHOD]: 'GET' };
  if (resendCount > 0) attributes[ATTR_HTTP_REQUEST_RESEND_COUNT] = resendCount;
  return tracer.startActiveSpan('GET /rates/:currency', { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      const response = await transport.get(`/rates/${currency}`);
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
      if (response.status >= 200 && response.status < 300) return response.body as Rate;
      throw new HttpStatusError(response.status, retryAfterMs(response));
    } catch (error) {
      fail(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}
