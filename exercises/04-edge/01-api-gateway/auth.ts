import type { CryptoKey } from 'jose';

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
  // TODO: no header at all is `missing_token`; anything but `Bearer <token>` is `malformed_token`.
  //       Verify the token with jose's jwtVerify (ES256 only). Map what it throws to a reason:
  //       errors.JWTExpired → `expired_token`, errors.JWSSignatureVerificationFailed →
  //       `invalid_signature`, anything else → `malformed_token`. A verified token without a `sub`
  //       is `malformed_token` too. Resolve with the `sub`.
  void publicKey;
  throw new AuthError(authorization === undefined ? 'missing_token' : 'malformed_token');
}
