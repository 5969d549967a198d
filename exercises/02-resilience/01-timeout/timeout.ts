import { SpanKind, trace } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD } from '@opentelemetry/semantic-conventions';
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
  // TODO: arm a timer on `clock` for `timeoutMs`. When it fires, abort `controller` with a new
  //       TimeoutError(timeoutMs) as the reason, and reject with that error right away, even if
  //       the operation never settles. When the operation settles first, clear the timer.
  return await operation(controller.signal);
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

/** Fetches a user's profile, giving the profile service `options.timeoutMs` to answer. */
export function getProfile(userId: string, client: ProfileClient, options: ProfileOptions): Promise<Profile> {
  return tracer.startActiveSpan('get-profile', async (span) => {
    try {
      // TODO: put the call under a deadline: withTimeout((signal) => fetchProfile(...), ...).
      return await fetchProfile(userId, client, new AbortController().signal);
    } catch (error) {
      // TODO: a failed lookup is ERROR, with error.type "timeout" for a TimeoutError,
      //       the error's name otherwise.
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
    // TODO: when the call rejects (aborted by the deadline, or failed), this span must still end,
    //       ERROR, with the same error.type rule as get-profile.
    const profile = await client.get(userId, signal);
    span.end();
    return profile;
  });
}
