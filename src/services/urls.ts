/** What a probe needs from a server URL: where to connect and who logs in. */
export interface ParsedServerUrl {
  host: string;
  port: number;
  /** Decoded; empty when the URL names no user. */
  user: string;
  /** Decoded; empty when the URL has no password. */
  password: string;
  /** The path without its leading slash, decoded (a database name, a vhost, a Redis db number). */
  path: string;
}

/** Parses `scheme://user:password@host:port/path`; a missing port is the server's standard one. */
export function parseServerUrl(url: string, defaultPort: number): ParsedServerUrl {
  const parsed = new URL(url);
  return {
    // new URL keeps the brackets of an IPv6 host; sockets want the bare address.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? defaultPort : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    path: decodeURIComponent(parsed.pathname.replace(/^\//, '')),
  };
}

/** True when the text parses as a URL with a host; the probes are never given anything else. */
export function isServerUrl(url: string): boolean {
  try {
    return new URL(url).hostname !== '';
  } catch {
    return false;
  }
}

/**
 * The URL as messages show it: the password replaced by `***`, so that a sentence printed in a
 * terminal or a CI log never leaks one. RabbitMQ's well-known `guest:guest` is kept readable.
 */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '' || (parsed.username === 'guest' && parsed.password === 'guest')) return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
