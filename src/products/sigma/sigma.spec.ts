import { parseAccessSettings, parseTargetSettings } from '..';
import type { MintContext, SecretSigning } from '../product-definition';
import { sigma } from './sigma';

const token = sigma.token!;
const link = token.link!;
const IAT = 1_800_000_000;
const ctx = (over: Partial<{ settings: object; access: Partial<MintContext['access']>; user: object; groups: string[] }> = {}): MintContext => ({
  target: { id: 't1', slug: 'sig', baseUrl: 'https://app.sigmacomputing.com/', settings: { clientId: 'client-1', organization: 'acme-analytics', ...(over.settings ?? {}) } },
  access: { groupMappings: { analysts: ['Analysts', 'Viewers'] }, attributes: {}, settings: {}, ...(over.access ?? {}) },
  tenant: { id: 'tn', slug: 'acme', name: 'Acme', attributes: { region: 'tenant', seats: 5 } },
  user: { id: 'u1', email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', attributes: { region: 'user' }, ...(over.user ?? {}) },
  groups: over.groups ?? ['analysts', 'unmapped'],
  iat: IAT,
  jti: '00000000-0000-4000-8000-000000000001',
});

describe('sigma (JWT embedding)', () => {
  it('signs HS256 with the embed secret; kid = the embed client id', () => {
    const s = token.signing as SecretSigning;
    expect(s).toMatchObject({ alg: 'HS256', secret: 'secret' });
    expect(s.header(ctx().target)).toEqual({ typ: 'JWT', kid: 'client-1' });
  });

  it('claims: sub (email), jti, iat, exp, ver 1.1, names, teams from the group mappings', () => {
    expect(token.claims(ctx(), IAT + 300)).toEqual({
      sub: 'ada@example.com',
      jti: '00000000-0000-4000-8000-000000000001',
      iat: IAT,
      exp: IAT + 300,
      ver: '1.1',
      first_name: 'Ada',
      last_name: 'Lovelace',
      teams: ['Analysts', 'Viewers'],
    });
  });

  it('no teams claim when nothing maps; no name claims when the user has none', () => {
    const c = token.claims(ctx({ groups: ['unmapped'], user: { firstName: '', lastName: '' } }), IAT + 60);
    expect(c).not.toHaveProperty('teams');
    expect(c).not.toHaveProperty('first_name');
    expect(c).not.toHaveProperty('last_name');
  });

  it('user_attributes: only the listed ones, as text, access > user > tenant; account_type from the access', () => {
    const c = token.claims(ctx({ access: { attributes: { region: 'access' }, settings: { userAttributes: ['region', 'seats', 'missing'], accountType: 'Viewer' } } }), IAT + 60);
    expect(c.user_attributes).toEqual({ region: 'access', seats: '5' });
    expect(c.account_type).toBe('Viewer');
    expect(token.claims(ctx({ access: { settings: { userAttributes: ['missing'] } } }), IAT + 60)).not.toHaveProperty('user_attributes');
    expect(parseAccessSettings(sigma, { accountType: 'Viewer"><x' }).problems).not.toEqual([]);
  });

  it('the workbook URL: <base>/<org>/workbook/<workbook>?:jwt=<token>&:embed=true', () => {
    expect(link.resource).toBe('workbook');
    expect(link.url!(ctx().target, 'Sales-Q1-abc123', 'a.b.c')).toBe('https://app.sigmacomputing.com/acme-analytics/workbook/Sales-Q1-abc123?:jwt=a.b.c&:embed=true');
  });

  it.each(['', 'a/b', '../admin', 'x?y=1', 'x#y', 'a b', 'x'.repeat(201)])('refuses the workbook %j before anything is signed', (w) => {
    expect(link.path.test(w)).toBe(false);
  });

  it('lifetime: 300 s by default, at most an hour (the URL is the credential)', () => {
    expect(token.ttlSeconds({})).toBe(300);
    expect(token.ttlSeconds({ tokenTtlSeconds: 86_400 })).toBe(3600);
    expect(parseTargetSettings(sigma, { clientId: 'c', organization: 'o', tokenTtlSeconds: 3601 }).problems.join()).toMatch(/tokenTtlSeconds/);
    expect(parseTargetSettings(sigma, { clientId: 'c' }).problems.join()).toMatch(/organization/);
  });

  it('the setup guide names the client id and the workbook URL', () => {
    const guide = sigma.setupGuide!({ slug: 'sig', baseUrl: 'https://app.sigmacomputing.com', settings: { clientId: 'client-1', organization: 'acme' } }, 'https://idp.example.com', ['Analysts']);
    expect(guide.items.map((i) => i.value)).toEqual(expect.arrayContaining(['client-1', 'https://idp.example.com/embed/sig/workbook/<Workbook-Name-id>']));
  });
});
