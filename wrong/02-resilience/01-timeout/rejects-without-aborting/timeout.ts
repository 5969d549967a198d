import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD } from '@opentelemetry/semantic-conventions';
import type { Clock } from '#kit';

const tracer = trace.getTracer('tracecraft.profiles');

/** What the caller gets when the deadline passes before the operation finishes. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';

  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

/**
 * Runs `operation` with a deadline of `timeoutMs` on `clock`. If it settles first, answers as it
 * does; otherwise, at the deadline, aborts the operation's signal with a TimeoutError and rejects
 * with that same error.
 */
export async function withTimeout<T>(
  operation: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  clock: Clock,
): Promise<T> {
  const controller = new AbortController();
  // The caller is answered at the deadline.
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(new TimeoutError(timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([operation(controller.signal), deadline]);
  } finally {
    if (timer) clock.clearTimeout(timer);
  }
}

export interface Profile {
  id: string;
  name: string;
}

/** The profile service's HTTP client. Like fetch, it rejects with `signal.reason` as soon as the signal aborts. */
export interface ProfileClient {
  get(userId: string, signal: AbortSignal): Promise<Profile>;
}

export interface ProfileOptions {
  timeoutMs: number;
  clock: Clock;
}

/** Marks a failed span. The deadline's error reads "timeout", on whichever span it reaches. */
function fail(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.setAttribute(ATTR_ERROR_TYPE, error instanceof TimeoutError ? 'timeout' : (error as Error).name);
}

/** Fetches a user's profile, giving the profile service `options.timeoutMs` to answer. */
export function getProfile(userId: string, client: ProfileClient, options: ProfileOptions): Promise<Profile> {
  return tracer.startActiveSpan('get-profile', async (span) => {
    try {
      return await withTimeout((signal) => fetchProfile(userId, client, signal), options.timeoutMs, options.clock);
    } catch (error) {
      fail(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** One call to the profile service: the CLIENT span. */
function fetchProfile(userId: string, client: ProfileClient, signal: AbortSignal): Promise<Profile> {
  const attributes = { [ATTR_HTTP_REQUEST_METHOD]: 'GET' };
  return tracer.startActiveSpan('GET /profiles/:id', { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await client.get(userId, signal);
    } catch (error) {
      fail(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}
