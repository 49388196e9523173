import { decodeProtectedHeader, jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';
import { createSecretKey, randomUUID } from 'node:crypto';
import { sisense } from './sisense';
import type { MintContext } from '../product-definition';
import { parseTargetSettings } from '..';

const SECRET = 'sisense-shared-secret-0123456789abcdef';
const IAT = 1_800_000_000;
const sso = sisense.sso;

function ctx(over: { target?: Partial<MintContext['target']>; access?: Partial<MintContext['access']>; groups?: string[]; user?: Partial<MintContext['user']> } = {}): MintContext {
  return {
    target: { id: randomUUID(), slug: 'bi', baseUrl: 'https://bi.example.com', settings: {}, ...over.target },
    access: { groupMappings: {}, attributes: {}, settings: {}, ...over.access },
    tenant: { id: randomUUID(), slug: 'acme', name: 'Acme', attributes: {} },
    user: { id: randomUUID(), email: 'ada@acme.example', firstName: 'Ada', lastName: 'Lovelace', attributes: {}, ...over.user },
    groups: over.groups ?? [],
    iat: IAT,
    jti: randomUUID(),
  };
}

/** Signs the way the SSO flow does (HS256, the product's header), verified independently by jose. */
async function signAndVerify(c: MintContext) {
  const payload = sso.claims(c, c.iat + sso.ttlSeconds(c.target.settings));
  const token = jwt.sign(payload, createSecretKey(Buffer.from(SECRET, 'utf8')), {
    algorithm: 'HS256',
    header: { alg: 'HS256', ...sso.signing.header(c.target) },
  });
  const verified = await jwtVerify(token, new TextEncoder().encode(SECRET), {
    algorithms: ['HS256'],
    typ: 'JWT',
    currentDate: new Date(IAT * 1000),
  });
  return { token, header: decodeProtectedHeader(token), payload: verified.payload };
}

describe('sisense SSO behaviour', () => {
  describe('claims', () => {
    it('signs a token Sisense accepts: typ JWT, HS256, integer iat, exp 5 minutes later, jti, sub = email', async () => {
      const c = ctx();
      const { header, payload } = await signAndVerify(c);
      expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
      expect(payload).toEqual({
        sub: 'ada@acme.example',
        firstName: 'Ada',
        lastName: 'Lovelace',
        iat: IAT,
        exp: IAT + 300,
        jti: c.jti,
      });
      expect(Number.isInteger(payload.iat)).toBe(true);
    });

    it('uses the configured email, first and last name claims', async () => {
      const c = ctx({ target: { settings: { emailClaim: 'email', firstNameClaim: 'given_name', lastNameClaim: 'family_name' } } });
      const { payload } = await signAndVerify(c);
      expect(payload).toMatchObject({ email: 'ada@acme.example', given_name: 'Ada', family_name: 'Lovelace' });
      expect(payload).not.toHaveProperty('sub');
      expect(payload).not.toHaveProperty('firstName');
    });

    it('honours tokenTtlSeconds and keeps exp after iat whatever it is given', async () => {
      expect(sso.ttlSeconds({})).toBe(300);
      expect(sso.ttlSeconds({ tokenTtlSeconds: 60 })).toBe(60);
      const { payload } = await signAndVerify(ctx({ target: { settings: { tokenTtlSeconds: 60 } } }));
      expect(payload.exp).toBe(IAT + 60);
      expect(sso.claims(ctx(), IAT).exp).toBe(IAT + 1);
      expect(sso.claims(ctx(), IAT - 10).exp).toBe(IAT + 1);
    });

    it('maps local groups through the access mappings, deduplicated, unmapped ones dropped', async () => {
      const c = ctx({
        groups: ['analysts', 'admins', 'interns'],
        access: { groupMappings: { analysts: ['Viewers', 'Analysts'], admins: ['Analysts', 'Designers'] } },
      });
      const { payload } = await signAndVerify(c);
      expect(payload.groups).toEqual(['Viewers', 'Analysts', 'Designers']);
    });

    it('omits groups when none of the user’s groups map', async () => {
      const { payload } = await signAndVerify(ctx({ groups: ['interns'], access: { groupMappings: { analysts: ['Viewers'] } } }));
      expect(payload).not.toHaveProperty('groups');
    });

    it('does not treat inherited object keys as group mappings', () => {
      expect(sso.claims(ctx({ groups: ['constructor', 'toString'] }), IAT + 300)).not.toHaveProperty('groups');
    });

    it('sends tenantId only for an organization tenant (access settings), never for the system tenant', async () => {
      const org = await signAndVerify(ctx({ access: { settings: { sisenseTenantName: 'acme', sisenseTenantId: '64f0c0ffee' } } }));
      expect(org.payload.tenantId).toBe('64f0c0ffee');
      const system = await signAndVerify(ctx());
      expect(system.payload).not.toHaveProperty('tenantId');
    });

    it('serves one target per Sisense tenant from the target settings, the access overriding them', () => {
      const perTenant = { baseUrl: 'https://bi.example.com', settings: { tenantName: 'acme', tenantId: 'id-acme' } };
      const c = ctx({ target: perTenant });
      expect(sso.claims(c, IAT + 300).tenantId).toBe('id-acme');
      expect(sso.redirect!.url(c, 't', '/')).toBe('https://bi.example.com/acme/jwt?jwt=t&return_to=%2F');
      expect(sisense.logoutUrl!(c)).toBe('https://bi.example.com/acme/api/v1/authentication/logout');
      const overridden = ctx({ target: perTenant, access: { settings: { sisenseTenantName: 'beta', sisenseTenantId: 'id-beta' } } });
      expect(sso.claims(overridden, IAT + 300).tenantId).toBe('id-beta');
      expect(sso.redirect!.url(overridden, 't', '/')).toBe('https://bi.example.com/beta/jwt?jwt=t&return_to=%2F');
    });

    it('omits empty name claims rather than sending blanks', () => {
      const payload = sso.claims(ctx({ user: { firstName: '', lastName: '' } }), IAT + 300);
      expect(payload).not.toHaveProperty('firstName');
      expect(payload).not.toHaveProperty('lastName');
    });

    it('signs in as the shared account when the access has one, and sequences iat for that account', () => {
      const c = ctx({ access: { settings: { sharedAccount: { email: 'Acme-BI@acme.example', firstName: 'Acme' } } } });
      const payload = sso.claims(c, IAT + 300);
      expect(payload.sub).toBe('Acme-BI@acme.example');
      expect(payload.firstName).toBe('Acme');
      expect(payload).not.toHaveProperty('lastName');
      expect(sso.iatSequence!(c).subject).toBe('acme-bi@acme.example');
    });

    it('asks for strictly increasing iat, keyed by the lower-cased email', () => {
      expect(sso.iatSequence).toBeDefined();
      expect(sso.iatSequence!(ctx({ user: { email: 'Ada@Acme.Example' } })).subject).toBe('ada@acme.example');
    });

    it('keys the iat sequence by the Sisense instance and tenant, not by our target row', () => {
      const a = ctx({ target: { id: 'one', baseUrl: 'https://BI.example.com/sisense/' } });
      const b = ctx({ target: { id: 'two', baseUrl: 'https://bi.example.com/sisense' } });
      expect(sso.iatSequence!(a).scope).toBe(sso.iatSequence!(b).scope);
      const org = ctx({ access: { settings: { sisenseTenantName: 'acme', sisenseTenantId: 'x1' } } });
      expect(sso.iatSequence!(org).scope).not.toBe(sso.iatSequence!(ctx()).scope);
      expect(sso.iatSequence!(ctx({ target: { baseUrl: 'https://other.example.com' } })).scope).not.toBe(sso.iatSequence!(ctx()).scope);
    });
  });

  describe('normaliseReturnTo', () => {
    const target = ctx({ target: { baseUrl: 'https://bi.example.com/sisense', settings: { allowedOrigins: ['https://app.example.com'] } } }).target;

    it('defaults to / when Sisense sent none', () => {
      expect(sso.redirect!.normaliseReturnTo(undefined, target)).toBe('/');
      expect(sso.redirect!.normaliseReturnTo('', target)).toBe('/');
    });

    it('keeps a Sisense path as it is, query included', () => {
      expect(sso.redirect!.normaliseReturnTo('/app/main/dashboards/5f1?embed=true&l=1', target)).toBe('/app/main/dashboards/5f1?embed=true&l=1');
      expect(sso.redirect!.normaliseReturnTo('/acme/app/main', target)).toBe('/acme/app/main');
    });

    it('accepts an absolute URL on the Sisense origin or an allow-listed embedding origin (Compose SDK)', () => {
      expect(sso.redirect!.normaliseReturnTo('https://bi.example.com/app/main', target)).toBe('https://bi.example.com/app/main');
      expect(sso.redirect!.normaliseReturnTo('https://app.example.com/reports?x=1', target)).toBe('https://app.example.com/reports?x=1');
    });

    it.each([
      ['a foreign origin', 'https://evil.example.net/app/main'],
      ['a look-alike host', 'https://app.example.com.evil.net/'],
      ['another port of an allowed host', 'https://app.example.com:8443/'],
      ['http for an https origin', 'http://app.example.com/'],
      ['a protocol-relative URL', '//evil.example.net/app'],
      ['a backslash trick', '/\\evil.example.net'],
      ['credentials in the URL', 'https://user:pw@app.example.com/'],
      ['a javascript: URL', 'javascript:alert(1)'],
      ['a relative path without a leading slash', 'app/main'],
      ['a control character', '/app/main\r\nSet-Cookie: x=1'],
      ['an overly long value', `/${'a'.repeat(2048)}`],
    ])('refuses %s', (_what, raw) => {
      expect(sso.redirect!.normaliseReturnTo(raw, target)).toBeNull();
    });
  });

  describe('redirectUrl and logoutUrl', () => {
    it('sends the system tenant to <sisense>/jwt with the token and the encoded return_to', () => {
      const c = ctx({ target: { baseUrl: 'https://bi.example.com/' } });
      const url = new URL(sso.redirect!.url(c, 'aaa.bbb.ccc', '/app/main?a=1&b=2'));
      expect(`${url.origin}${url.pathname}`).toBe('https://bi.example.com/jwt');
      expect(url.searchParams.get('jwt')).toBe('aaa.bbb.ccc');
      expect(url.searchParams.get('return_to')).toBe('/app/main?a=1&b=2');
      expect([...url.searchParams.keys()]).toEqual(['jwt', 'return_to']);
      expect(sisense.logoutUrl!(c)).toBe('https://bi.example.com/api/v1/authentication/logout');
    });

    it('prefixes the organization tenant name, keeping a base path', () => {
      const c = ctx({ target: { baseUrl: 'https://bi.example.com/sisense' }, access: { settings: { sisenseTenantName: 'acme', sisenseTenantId: 'x' } } });
      expect(sso.redirect!.url(c, 't.o.k', 'https://app.example.com/r')).toBe(
        'https://bi.example.com/sisense/acme/jwt?jwt=t.o.k&return_to=https%3A%2F%2Fapp.example.com%2Fr',
      );
      expect(sisense.logoutUrl!(c)).toBe('https://bi.example.com/sisense/acme/api/v1/authentication/logout');
    });

    it('encodes a tenant name so it stays one path segment', () => {
      const c = ctx({ access: { settings: { sisenseTenantName: 'a/b c' } } });
      expect(sso.redirect!.url(c, 't', '/')).toBe('https://bi.example.com/a%2Fb%20c/jwt?jwt=t&return_to=%2F');
    });
  });

  describe('parseSettings', () => {
    it('accepts the documented settings', () => {
      const r = parseTargetSettings(sisense, { emailClaim: 'email', tokenTtlSeconds: 120, allowedOrigins: ['https://app.example.com/'] });
      expect(r.problems).toEqual([]);
      expect(r.settings).toEqual({ emailClaim: 'email', tokenTtlSeconds: 120, allowedOrigins: ['https://app.example.com'] });
    });

    it('refuses claim names that would overwrite registered claims or each other', () => {
      const r = parseTargetSettings(sisense, { emailClaim: 'jti', firstNameClaim: 'name', lastNameClaim: 'name' });
      expect(r.problems).toEqual([
        'settings.emailClaim must not be the reserved claim "jti"',
        'settings.firstNameClaim and settings.lastNameClaim must differ (both "name")',
      ]);
    });

    it('takes a Sisense organization tenant for the whole target, name and id together', () => {
      expect(parseTargetSettings(sisense, { tenantName: 'acme', tenantId: '64f0c0ffee' })).toEqual({ settings: { tenantName: 'acme', tenantId: '64f0c0ffee' }, problems: [] });
      expect(parseTargetSettings(sisense, { tenantName: 'acme' }).problems).toEqual([
        'settings.tenantName and settings.tenantId go together (a target for one Sisense organization tenant needs both)',
      ]);
      expect(parseTargetSettings(sisense, { tenantName: 'a/b', tenantId: 'x y' }).problems).toEqual([
        'settings.tenantName must be the Sisense tenant name (letters, digits, _ and -; at most 100)',
        'settings.tenantId must be the Sisense tenant id (letters, digits, _ and -; at most 64)',
      ]);
    });

    it('names unknown keys', () => {
      expect(parseTargetSettings(sisense, { tenantsEnabled: true }).problems).toEqual(['settings.tenantsEnabled is not a known setting']);
    });
  });
});
