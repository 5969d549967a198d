/**
 * What exercises may import, as `#kit`: small, well-tested stand-ins for the world
 * (servers on loopback, clocks, buses) so exercise code stays about the pattern.
 */
export { startHttpServer, httpRequest, readBody, HTTP_MESSAGES } from './http.ts';
export type { HttpHandler, LoopbackServer, HttpRequestOptions, HttpResponse } from './http.ts';
export { FakeClock, systemClock } from './clock.ts';
export type { Clock, TimerHandle } from './clock.ts';
export { deferred, ConcurrencyProbe, flushMicrotasks } from './control.ts';
export type { Deferred } from './control.ts';
