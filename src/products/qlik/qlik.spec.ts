import { parseTargetSettings } from '..';
import { isKeyPairSigning, type KeyPairSigning, type MintContext } from '../product-definition';
import { qlik, QLIK_AUDIENCE } from './qlik';

const token = qlik.token!;
const IAT = 1_800_000_000;
const ctx = (over: Partial<{ settings: object; groups: string[]; user: object }> = {}): MintContext => ({
  target: { id: 't1', slug: 'qlik', baseUrl: 'https://acme.eu.qlikcloud.com/', settings: { issuer: 'https://idp.example.com', ...(over.settings ?? {}) } },
  access: { groupMappings: { analysts: ['Qlik Analysts'], leads: ['Qlik Leads', 'Qlik Analysts'] }, attributes: {}, settings: {} },
  tenant: { id: 'tn', slug: 'acme', name: 'Acme', attributes: {} },
  user: { id: 'u1', email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', attributes: {}, ...(over.user ?? {}) },
  groups: over.groups ?? ['analysts', 'leads', 'unmapped'],
  iat: IAT,
  jti: '00000000-0000-4000-8000-000000000001',
});

describe('qlik (JWT identity provider)', () => {
  it('signs with a key pair only (Qlik refuses HS*): RS256 by default, or ES256', () => {
    expect(isKeyPairSigning(token.signing)).toBe(true);
    const s = token.signing as KeyPairSigning;
    expect(s.keyPair({})).toBe('RS256');
    expect(s.keyPair({ alg: 'ES256' })).toBe('ES256');
    expect(s.keyPair({ alg: 'HS256' })).toBe('RS256');
    expect(qlik.secrets).toEqual([]);
    expect(parseTargetSettings(qlik, { issuer: 'x', alg: 'HS256' }).problems.join()).toMatch(/alg/);
  });

  it("claims: iss as registered, Qlik's aud, sub and email, subType user, name, email_verified, mapped groups, jti, iat, nbf, exp", () => {
    expect(token.claims(ctx(), IAT + 120)).toEqual({
      iss: 'https://idp.example.com',
      aud: QLIK_AUDIENCE,
      sub: 'ada@example.com',
      subType: 'user',
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      email_verified: true,
      groups: ['Qlik Analysts', 'Qlik Leads'],
      jti: '00000000-0000-4000-8000-000000000001',
      iat: IAT,
      nbf: IAT,
      exp: IAT + 120,
    });
    expect(QLIK_AUDIENCE).toBe('qlik.api/login/jwt-session');
  });

  it('a user without a name is named by the email; no mapped group is an empty list', () => {
    const c = token.claims(ctx({ user: { firstName: '', lastName: '' }, groups: ['unmapped'] }), IAT + 60);
    expect(c.name).toBe('ada@example.com');
    expect(c.groups).toEqual([]);
  });

  it('the issuer is required; the lifetime short by default and never over Qlik\'s 60 minutes', () => {
    expect(parseTargetSettings(qlik, {}).problems.join()).toMatch(/issuer/);
    expect(token.ttlSeconds({})).toBe(120);
    expect(token.ttlSeconds({ tokenTtlSeconds: 7200 })).toBe(3600);
    expect(parseTargetSettings(qlik, { issuer: 'x', tokenTtlSeconds: 3601 }).problems.join()).toMatch(/tokenTtlSeconds/);
  });

  it('answers {token, expiresAt, tenantUrl} for the host page (the tenant URL without a trailing slash)', () => {
    expect(token.json!.answer!(ctx().target)).toEqual({ tenantUrl: 'https://acme.eu.qlikcloud.com' });
    expect(token.link).toBeUndefined();
  });

  it("the setup guide: the identity provider's JSON with the issuer and the signing key's kid and PEM; the next key's to swap in when it signs", () => {
    const pem = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n';
    const next = { kid: 'next-kid', state: 'next' as const, pem: pem.replace('MFkw', 'NEXT'), signsFrom: new Date('2026-12-05T01:00:00Z') };
    const t = { slug: 'qlik', baseUrl: 'https://acme.eu.qlikcloud.com', settings: { issuer: 'https://idp.example.com' } };
    const guide = qlik.setupGuide!({ ...t, publicKeys: [next, { kid: 'active-kid', state: 'active', pem, signsFrom: new Date(0) }] }, 'https://idp.example.com', []);
    const idp = guide.items.find((i) => i.label === 'Identity provider (JSON)')!;
    expect(JSON.parse(idp.value!)).toEqual({
      tenantIds: ['<your Qlik tenant ID>'],
      provider: 'external',
      protocol: 'jwtAuth',
      interactive: false,
      active: true,
      description: 'embed-idp (qlik)',
      options: { jwtLoginEnabled: true, issuer: 'https://idp.example.com', staticKeys: [{ kid: 'active-kid', pem: pem.trim() }] },
    });
    const swap = guide.items.find((i) => i.label === 'Next key')!;
    expect(swap.note).toContain('2026-12-05 01:00 UTC');
    expect(JSON.parse(swap.value!)).toEqual([{ kid: 'next-kid', pem: next.pem.trim() }]);
    // Before the console hands the keys over (or without one), it says where they are.
    const bare = qlik.setupGuide!(t, 'https://idp.example.com', []);
    expect(JSON.parse(bare.items.find((i) => i.label === 'Identity provider (JSON)')!.value!).options.staticKeys).toEqual([{ kid: '<kid under Signing keys>', pem: '<its PEM>' }]);
    expect(bare.items.find((i) => i.label === 'Next key')).toBeUndefined();
  });

  it('the setup guide: the issuer, where the kid and PEM come from (and the JWKS), the token URL', () => {
    const guide = qlik.setupGuide!({ slug: 'qlik', baseUrl: 'https://acme.eu.qlikcloud.com', settings: { issuer: 'https://idp.example.com' } }, 'https://idp.example.com', []);
    expect(guide.items.map((i) => i.value)).toEqual(expect.arrayContaining(['https://idp.example.com', 'https://idp.example.com/embed/qlik/token']));
    expect(guide.items.map((i) => i.note ?? '').join(' ')).toMatch(/key ID and PEM.*\/targets\/qlik\/jwks\.json/);
  });
});
