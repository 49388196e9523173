import { parseTargetSettings } from '..';
import { isKeyPairSigning, type KeyPairSigning, type MintContext } from '../product-definition';
import { grafana, grafanaRole } from './grafana';

const sso = grafana.sso!;
const redirect = sso.redirect!;
const IAT = 1_800_000_000;
const target = (settings: object = {}) => ({ id: 't1', slug: 'grafana', baseUrl: 'https://grafana.example.com/', settings: { ...settings } });
const ctx = (over: Partial<{ settings: object; groups: string[]; user: object; mappings: Record<string, string[]> }> = {}): MintContext => ({
  target: target(over.settings),
  access: { groupMappings: over.mappings ?? { analysts: ['Viewer'], leads: ['Editor'], ops: ['Admin'], other: ['NotARole'] }, attributes: {}, settings: {} },
  tenant: { id: 'tn', slug: 'acme', name: 'Acme', attributes: {} },
  user: { id: 'u1', email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', attributes: {}, ...(over.user ?? {}) },
  groups: over.groups ?? ['analysts', 'leads'],
  iat: IAT,
  jti: '00000000-0000-4000-8000-000000000001',
});

describe('grafana ([auth.jwt] with url_login)', () => {
  it('signs with a key pair only (RS256 by default, or ES256), never a shared secret', () => {
    expect(isKeyPairSigning(sso.signing)).toBe(true);
    const s = sso.signing as KeyPairSigning;
    expect(s.keyPair({})).toBe('RS256');
    expect(s.keyPair({ alg: 'ES256' })).toBe('ES256');
    expect(s.keyPair({ alg: 'HS256' })).toBe('RS256');
    expect(grafana.secrets).toEqual([]);
    expect(parseTargetSettings(grafana, { alg: 'HS256' }).problems.join()).toMatch(/alg/);
  });

  it('claims: sub, email and login (the email), name, the highest mapped role, aud = its origin, iat, exp, jti', () => {
    expect(sso.claims(ctx(), IAT + 120)).toEqual({
      sub: 'ada@example.com',
      email: 'ada@example.com',
      login: 'ada@example.com',
      name: 'Ada Lovelace',
      role: 'Editor',
      aud: 'https://grafana.example.com',
      iat: IAT,
      exp: IAT + 120,
      jti: '00000000-0000-4000-8000-000000000001',
    });
  });

  it('the claim names the settings give (the role claim is what role_attribute_path reads)', () => {
    const c = sso.claims(ctx({ settings: { emailClaim: 'mail', loginClaim: 'user', nameClaim: 'display', roleClaim: 'grafana_role' } }), IAT + 60);
    expect(c).toMatchObject({ mail: 'ada@example.com', user: 'ada@example.com', display: 'Ada Lovelace', grafana_role: 'Editor' });
    expect(c).not.toHaveProperty('role');
    expect(parseTargetSettings(grafana, { roleClaim: 'sub' }).problems.join()).toMatch(/reserved claim "sub"/);
    expect(parseTargetSettings(grafana, { emailClaim: 'x', loginClaim: 'x' }).problems).not.toEqual([]);
  });

  it('role: the highest Grafana role mapped, names that are not roles ignored, no claim when none maps', () => {
    expect(grafanaRole(['analysts', 'ops'], { analysts: ['Viewer'], ops: ['Admin'] })).toBe('Admin');
    expect(grafanaRole(['other'], { other: ['NotARole'] })).toBeNull();
    expect(sso.claims(ctx({ groups: ['other'] }), IAT + 60)).not.toHaveProperty('role');
  });

  it("return_to: Grafana's own paths, or an absolute URL on its origin; anything else refused", () => {
    const t = target();
    expect(redirect.normaliseReturnTo('/d/abc/sales?orgId=1', t)).toBe('/d/abc/sales?orgId=1');
    expect(redirect.normaliseReturnTo(undefined, t)).toBe('/');
    expect(redirect.normaliseReturnTo('https://grafana.example.com/d/abc', t)).toBe('https://grafana.example.com/d/abc');
    for (const bad of ['https://evil.example.com/d/abc', '//evil.example.com/d', '/\\evil.example.com', 'javascript:alert(1)', 'https://grafana.example.com.evil.example/d']) {
      expect(redirect.normaliseReturnTo(bad, t)).toBeNull();
    }
  });

  it('the redirect: <grafana><path>?auth_token=<jwt>, after an existing query, before a fragment', () => {
    const c = { target: target(), access: ctx().access };
    expect(redirect.url(c, 'a.b.c', '/d/abc')).toBe('https://grafana.example.com/d/abc?auth_token=a.b.c');
    expect(redirect.url(c, 'a.b.c', '/d/abc?orgId=1#panel-2')).toBe('https://grafana.example.com/d/abc?orgId=1&auth_token=a.b.c#panel-2');
    expect(redirect.url(c, 'a.b.c', 'https://grafana.example.com/d/x')).toBe('https://grafana.example.com/d/x?auth_token=a.b.c');
  });

  it("the setup guide: the [auth.jwt] block with this target's JWKS, a 60 min cache, expect_claims on its aud and the role claim", () => {
    const guide = grafana.setupGuide!({ slug: 'grafana', baseUrl: 'https://grafana.example.com', settings: { roleClaim: 'grafana_role', loginClaim: 'user' } }, 'https://idp.example.com', ['Viewer']);
    const ini = guide.items[0].value!;
    expect(ini).toContain('[auth.jwt]');
    expect(ini).toContain('url_login = true');
    expect(ini).toContain('jwk_set_url = https://idp.example.com/targets/grafana/jwks.json');
    expect(ini).toContain('cache_ttl = 60m');
    expect(ini).toContain('expect_claims = {"aud":"https://grafana.example.com"}');
    expect(ini).toContain('role_attribute_path = grafana_role');
    expect(ini).toContain('username_claim = user');
    expect(guide.items.map((i) => i.value)).toContain('https://idp.example.com/sso/grafana?return_to=/d/<dashboard uid>');
  });
});
