import { errors, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';

/** Why a request is not authenticated: the `error.type` of its `auth` span. */
export type AuthFailure = 'missing_token' | 'malformed_token' | 'expired_token' | 'invalid_signature';

export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(readonly reason: AuthFailure) {
    super(`the request is not authenticated: ${reason}`);
  }
}

/**
 * Verifies the bearer token of an `authorization` header and resolves with the client id, the
 * token's `sub`. Rejects with an AuthError that says why the request is refused.
 */
export async function authenticate(authorization: string | undefined, publicKey: CryptoKey): Promise<string> {
  if (authorization === undefined) throw new AuthError('missing_token');
  const token = /^Bearer (\S+)$/.exec(authorization)?.[1];
  if (token === undefined) throw new AuthError('malformed_token');
  let payload: JWTPayload;
  try {
    // Pin the algorithm: a verifier that lets the token choose can be talked into a weaker one.
    ({ payload } = await jwtVerify(token, publicKey, { algorithms: ['ES256'] }));
  } catch (error) {
    throw new AuthError(reasonFor(error));
  }
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new AuthError('malformed_token');
  return payload.sub;
}

function reasonFor(error: unknown): AuthFailure {
  if (error instanceof errors.JWTExpired) return 'expired_token';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'invalid_signature';
  return 'malformed_token';
}
