/*
 * Which headers a proxy passes on. Hop-by-hop headers describe one connection (the caller's to the
 * sidecar, or the sidecar's to the app), never the request itself, so they stop at the proxy.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** The hop-by-hop headers of RFC 9110 (section 7.6.1), lower-case as node:http gives them. */
export const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade'] as const;

/**
 * The headers to pass on: all of them except the hop-by-hop ones, and except those the
 * `connection` header names (`connection: keep-alive, x-debug` makes `x-debug` hop-by-hop too).
 */
export function endToEndHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  // TODO: leave out HOP_BY_HOP, and every header named in the comma-separated `connection` value
  //       (names are case-insensitive: compare them in lower case, without the spaces around them).
  return { ...headers };
}
