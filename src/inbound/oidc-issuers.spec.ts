import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { OutboundGuard } from '../catalog/outbound';
import { issuerUrlProblem, OidcIssuers } from './oidc-issuers';

describe('issuerUrlProblem: https only, http on loopback only outside production', () => {
  it.each(['https://acme.eu.auth0.com/', 'https://login.microsoftonline.com/tid/v2.0', 'https://127.0.0.1:8443'])('accepts %s everywhere', (url) => {
    expect(issuerUrlProblem(url, false)).toBeNull();
    expect(issuerUrlProblem(url, true)).toBeNull();
  });

  it.each(['http://127.0.0.1:4000', 'http://localhost:4000/realms/a', 'http://[::1]:4000'])('accepts %s outside production only', (url) => {
    expect(issuerUrlProblem(url, false)).toBeNull();
    expect(issuerUrlProblem(url, true)).toBe('must be an https URL');
  });

  it.each([
    ['http://idp.example.com', 'must be an https URL (or http on loopback outside production)'],
    ['http://localhost.evil.example', 'must be an https URL (or http on loopback outside production)'],
    ['http://127.0.0.2', 'must be an https URL (or http on loopback outside production)'],
    ['ftp://idp.example.com', 'must be an https URL (or http on loopback outside production)'],
    ['not a url', 'is not a URL'],
    ['https://idp.example.com/?tenant=a', 'must have no query or fragment'],
    ['https://user:pw@idp.example.com', 'must not carry credentials'],
  ])('refuses %s outside production', (url, problem) => {
    expect(issuerUrlProblem(url, false)).toBe(problem);
  });
});

/**
 * OidcIssuers at use time, with the outbound fetch replaced by a recorder (no network): an
 * issuer stored outside production (http on loopback), or a discovery document naming an
 * http jwks_uri, is never fetched from in production, whatever the database holds.
 */
describe('OidcIssuers in production', () => {
  const expected = { issuer: 'http://127.0.0.1:9', audience: 'app', algorithms: ['RS256'], maxAgeSeconds: 300 };
  const now = () => Math.floor(Date.now() / 1000);

  function issuers(production: boolean, answer: (url: string) => unknown) {
    const fetched: string[] = [];
    const outbound = {
      fetch: async (url: string) => {
        fetched.push(String(url));
        return new Response(JSON.stringify(answer(String(url))), { status: 200, headers: { 'content-type': 'application/json' } });
      },
    } as unknown as OutboundGuard;
    return { oidc: new OidcIssuers(outbound, { nodeEnv: production ? 'production' : 'development' } as never), fetched };
  }

  async function tokenFor(issuer: string) {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' };
    const token = await new SignJWT({ email: 'a@host.example' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(issuer).setAudience('app').setIssuedAt().setExpirationTime('5m').sign(privateKey);
    return { token, jwks: { keys: [jwk] } };
  }

  it('an http loopback issuer verifies outside production', async () => {
    const { token, jwks } = await tokenFor(expected.issuer);
    const { oidc, fetched } = issuers(false, (url) => (url.endsWith('/.well-known/openid-configuration') ? { issuer: expected.issuer, jwks_uri: `${expected.issuer}/jwks` } : jwks));
    const verified = await oidc.verify(token, { alg: 'RS256', kid: 'k1' }, expected, now());
    expect(verified.ok).toBe(true);
    expect(fetched).toEqual([`${expected.issuer}/.well-known/openid-configuration`, `${expected.issuer}/jwks`]);
  });

  it('the same issuer in production: refused as unavailable, nothing fetched', async () => {
    const { token, jwks } = await tokenFor(expected.issuer);
    const { oidc, fetched } = issuers(true, (url) => (url.endsWith('/.well-known/openid-configuration') ? { issuer: expected.issuer, jwks_uri: `${expected.issuer}/jwks` } : jwks));
    const verified = await oidc.verify(token, { alg: 'RS256', kid: 'k1' }, expected, now());
    expect(verified).toMatchObject({ ok: false, reason: 'issuer_unavailable', detail: { error: 'issuer must be an https URL' } });
    expect(fetched).toEqual([]);
  });

  it('an https issuer whose discovery names an http jwks_uri in production: refused, the keys never fetched', async () => {
    const issuer = 'https://idp.example.com';
    const { token, jwks } = await tokenFor(issuer);
    const { oidc, fetched } = issuers(true, (url) => (url.endsWith('/.well-known/openid-configuration') ? { issuer, jwks_uri: 'http://127.0.0.1:9/jwks' } : jwks));
    const verified = await oidc.verify(token, { alg: 'RS256', kid: 'k1' }, { ...expected, issuer }, now());
    expect(verified).toMatchObject({ ok: false, reason: 'issuer_unavailable', detail: { error: 'jwks_uri must be an https URL' } });
    expect(fetched).toEqual([`${issuer}/.well-known/openid-configuration`]);
  });

  it('a discovery document naming another issuer is refused (OpenID Connect Discovery §4.3)', async () => {
    const issuer = 'https://idp.example.com';
    const { token, jwks } = await tokenFor(issuer);
    const { oidc } = issuers(true, (url) => (url.endsWith('/.well-known/openid-configuration') ? { issuer: 'https://evil.example.com', jwks_uri: 'https://evil.example.com/jwks' } : jwks));
    const verified = await oidc.verify(token, { alg: 'RS256', kid: 'k1' }, { ...expected, issuer }, now());
    expect(verified).toMatchObject({ ok: false, reason: 'issuer_unavailable' });
  });
});
