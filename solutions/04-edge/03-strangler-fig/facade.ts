import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import { systemClock, type Clock, type HttpHandler } from '#kit';
import { differingFields, type JsonObject } from './compare.ts';
import { inRollout } from './rollout.ts';
import { findRule, type RouteRule } from './routes.ts';
import { callUpstream, type UpstreamAnswer } from './upstream.ts';

const tracer = trace.getTracer('tracecraft.facade');

/** Which side served the request: `legacy`, `modern`, or `shadow` (legacy served, modern was compared). */
export const ATTR_MIGRATION_ROUTE = 'app.migration.route';
/** On the CLIENT span of a shadow call. */
export const ATTR_MIGRATION_SHADOW = 'app.migration.shadow';
export const MISMATCH_EVENT = 'app.migration.mismatch';
export const ATTR_MISMATCH_FIELDS = 'app.migration.mismatch.fields';
/** The rollout key: who is asking. */
export const USER_HEADER = 'x-user-id';

export type MigrationRoute = 'legacy' | 'modern' | 'shadow';

export interface FacadeOptions {
  legacyUrl: string;
  modernUrl: string;
  routes: readonly RouteRule[];
  /** How long a shadow call may run before it is cut off. */
  shadowTimeoutMs: number;
  clock?: Clock;
}

/** The strangler fig's facade: every request comes here, and goes on to legacy or modern. */
export function createFacade(options: FacadeOptions): HttpHandler {
  const clock = options.clock ?? systemClock;

  /** Calls modern with legacy's request and compares the answers. Never rejects, never reaches the client. */
  function shadow(url: string, served: Promise<UpstreamAnswer>): Promise<void> {
    return tracer.startActiveSpan('shadow', async (span) => {
      // A slow modern side must not pile up calls: cut it off after its budget.
      const cutOff = new AbortController();
      const timer = clock.setTimeout(() => cutOff.abort(), options.shadowTimeoutMs);
      try {
        const shadowed = await callUpstream('modern', options.modernUrl, url, {
          signal: cutOff.signal,
          attributes: { [ATTR_MIGRATION_SHADOW]: true },
        });
        const legacy = await served;
        if (isSuccess(legacy) && isSuccess(shadowed)) {
          const fields = differingFields(JSON.parse(legacy.body) as JsonObject, JSON.parse(shadowed.body) as JsonObject);
          // Field names only, never the values: they may be personal data, and they are all different.
          if (fields.length > 0) span.addEvent(MISMATCH_EVENT, { [ATTR_MISMATCH_FIELDS]: fields });
        }
      } catch {
        // A failed or cut-off shadow call shows on its own span; the client never knows.
      } finally {
        clock.clearTimeout(timer);
        span.end();
      }
    });
  }

  return (request, response) => {
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    const url = request.url ?? '/';
    const path = url.split('?', 1)[0] ?? '/';
    const rule = findRule(options.routes, path);
    const httpRoute = rule === undefined ? '/*' : `${rule.prefix}/*`;
    const route = decideRoute(rule, request.headers);
    const attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: 'GET',
      [ATTR_URL_PATH]: path,
      [ATTR_HTTP_ROUTE]: httpRoute,
      [ATTR_MIGRATION_ROUTE]: route,
    };
    return tracer.startActiveSpan(`GET ${httpRoute}`, { kind: SpanKind.SERVER, attributes }, async (span) => {
      try {
        let answer: Promise<UpstreamAnswer>;
        if (route === 'modern') {
          answer = callUpstream('modern', options.modernUrl, url);
        } else {
          answer = callUpstream('legacy', options.legacyUrl, url);
          // Started inside the request's span, so its spans join the request's trace; not awaited,
          // so the answer leaves as soon as legacy has answered.
          if (route === 'shadow') void shadow(url, answer);
        }
        const sent = send(response, await answer.catch(() => BAD_GATEWAY));
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, sent.status);
        if (sent.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      } finally {
        span.end();
      }
    });
  };
}

/** Where this request goes: a rollout sends a stable share of the users to modern. */
function decideRoute(rule: RouteRule | undefined, headers: IncomingHttpHeaders): MigrationRoute {
  const migration = rule?.migration ?? { mode: 'legacy' };
  if (migration.mode !== 'rollout') return migration.mode;
  const user = headers[USER_HEADER];
  // No user, no stable key: stay on the side known to work.
  return typeof user === 'string' && inRollout(user, migration.percent) ? 'modern' : 'legacy';
}

const BAD_GATEWAY: UpstreamAnswer = {
  status: 502,
  contentType: 'application/json',
  body: JSON.stringify({ error: 'the service behind the facade did not answer' }),
};

function isSuccess(answer: UpstreamAnswer): boolean {
  return answer.status >= 200 && answer.status < 300;
}

function send(response: ServerResponse, answer: UpstreamAnswer): UpstreamAnswer {
  response.writeHead(answer.status, { 'content-type': answer.contentType }).end(answer.body);
  return answer;
}
