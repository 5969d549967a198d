import { describe, expect, it } from 'vitest';
import { decodeJwt, errors, jwtVerify } from 'jose';
import { createJwtIssuer, malformedAuthorizations } from '../../src/checks/jwt.ts';

const issuer = await createJwtIssuer();
const verify = (token: string) => jwtVerify(token, issuer.publicKey, { algorithms: ['ES256'] });

describe('createJwtIssuer', () => {
  it('issues ES256 tokens that its public key verifies, with sub, exp in the future and the extra claims', async () => {
    const token = await issuer.issue('client-7', { expiresInSeconds: 120, claims: { scope: 'read' } });
    const { payload, protectedHeader } = await verify(token);
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.sub).toBe('client-7');
    expect(payload['scope']).toBe('read');
    expect((payload.exp ?? 0) - Math.floor(Date.now() / 1000)).toBeGreaterThan(100);
  });

  it('gives two different tokens for the same subject', async () => {
    const [a, b] = await Promise.all([issuer.issue('same'), issuer.issue('same')]);
    expect(a).not.toBe(b);
    expect(decodeJwt(a).sub).toBe(decodeJwt(b).sub);
  });

  it('signs expired tokens with the right key: the verifier says JWTExpired', async () => {
    const token = await issuer.expired('late', 3600);
    await expect(verify(token)).rejects.toBeInstanceOf(errors.JWTExpired);
  });

  it('signs forged tokens with another key: the signature does not verify', async () => {
    const token = await issuer.forged('mallory');
    expect(decodeJwt(token).sub).toBe('mallory');
    await expect(verify(token)).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  });

  it('issues a valid token without a subject on request', async () => {
    const { payload } = await verify(await issuer.withoutSubject());
    expect(payload.sub).toBeUndefined();
  });

  it('generates a new key pair per issuer', async () => {
    const other = await createJwtIssuer();
    await expect(verify(await other.issue('x'))).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  });
});

describe('malformedAuthorizations', () => {
  it('gives headers that carry no bearer JWT, each refused as malformed, never as a bad signature or an expiry', async () => {
    let n = 0;
    const headers = malformedAuthorizations(await issuer.issue('x'), () => `w${n++}abc`);
    expect(headers.length).toBeGreaterThanOrEqual(4);
    expect(new Set(headers.map((h) => h.header)).size).toBe(headers.length);
    for (const { header } of headers) {
      const bearer = /^Bearer (.*)$/.exec(header);
      if (!bearer) continue;
      const error = await verify(bearer[1] ?? '').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, header).toBeInstanceOf(errors.JOSEError);
      expect(error, header).not.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
      expect(error, header).not.toBeInstanceOf(errors.JWTExpired);
    }
    expect(headers.some((h) => !h.header.startsWith('Bearer '))).toBe(true);
  });
});
