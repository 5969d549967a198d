/**
 * A token issuer for checks of code that verifies JWTs (a gateway's authentication): one ES256 key
 * pair generated per run, tokens signed with it, and the tokens a verifier must refuse, each for
 * one reason: expired, signed with another key, malformed.
 */
import { randomUUID } from 'node:crypto';
import type { CryptoKey, JWTPayload } from 'jose';

export interface IssueOptions {
  /** Seconds from now until the token expires. Default 600. */
  expiresInSeconds?: number;
  /** Extra claims, beside `sub`, `iat`, `exp` and a unique `jti`. */
  claims?: JWTPayload;
}

export interface JwtIssuer {
  /** Verifies every token `issue` and `expired` sign. */
  readonly publicKey: CryptoKey;
  /** A valid ES256 token for `sub`. Two calls give two different tokens (each has its own `jti`). */
  issue(sub: string, options?: IssueOptions): Promise<string>;
  /** A token for `sub`, signed with the right key, that expired `secondsAgo` seconds ago (default 60). */
  expired(sub: string, secondsAgo?: number): Promise<string>;
  /** A well-formed, unexpired token for `sub` signed with another key pair: its signature does not verify. */
  forged(sub: string): Promise<string>;
  /** A valid, unexpired token signed with the right key but without a `sub` claim. */
  withoutSubject(): Promise<string>;
}

export interface MalformedToken {
  /** What the `authorization` header holds. */
  header: string;
  /** The mistake, in words, for failure messages. */
  what: string;
}

export const JWT_TEXT = {
  notBearer: 'an Authorization header with the Basic scheme instead of Bearer',
  notJwt: 'a Bearer value that is one word, not a JWT',
  garbage: 'a Bearer value with three dot-separated parts that are not base64url JSON',
  truncated: 'a real token with its signature part cut off',
} as const;

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Generates a fresh ES256 key pair (and a second one, for forged tokens). */
export async function createJwtIssuer(): Promise<JwtIssuer> {
  // Loaded here, not at the top: every checker file imports #checks, and only a few need jose.
  const { generateKeyPair, SignJWT } = await import('jose');
  const [real, other] = await Promise.all([generateKeyPair('ES256'), generateKeyPair('ES256')]);
  const sign = (payload: JWTPayload, key: CryptoKey): Promise<string> =>
    new SignJWT({ jti: randomUUID(), ...payload }).setProtectedHeader({ alg: 'ES256', typ: 'JWT' }).sign(key);
  return {
    publicKey: real.publicKey,
    issue: (sub, options = {}) => {
      const now = nowSeconds();
      return sign({ ...options.claims, sub, iat: now, exp: now + (options.expiresInSeconds ?? 600) }, real.privateKey);
    },
    expired: (sub, secondsAgo = 60) => {
      const exp = nowSeconds() - Math.max(1, secondsAgo);
      return sign({ sub, iat: exp - 600, exp }, real.privateKey);
    },
    forged: (sub) => {
      const now = nowSeconds();
      return sign({ sub, iat: now, exp: now + 600 }, other.privateKey);
    },
    withoutSubject: () => {
      const now = nowSeconds();
      return sign({ iat: now, exp: now + 600 }, real.privateKey);
    },
  };
}

/**
 * Authorization headers that carry no well-formed bearer JWT, each a different way. `sample` is
 * a real token, to cut one up; `word` makes the garbage differ between runs.
 */
export function malformedAuthorizations(sample: string, word: () => string): MalformedToken[] {
  const [header = '', payload = ''] = sample.split('.');
  return [
    { header: `Basic ${Buffer.from(`${word()}:${word()}`).toString('base64')}`, what: JWT_TEXT.notBearer },
    { header: `Bearer ${word()}`, what: JWT_TEXT.notJwt },
    { header: `Bearer ${word()}.${word()}.${word()}`, what: JWT_TEXT.garbage },
    { header: `Bearer ${header}.${payload}`, what: JWT_TEXT.truncated },
  ];
}
