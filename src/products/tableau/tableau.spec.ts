import { DomainError } from '../../common/errors';
import { parseAccessSettings, parseTargetSettings } from '..';
import type { MintContext, SecretSigning, SetupGuide, TargetDefinition } from '../product-definition';
import { tableau } from './tableau';

const token = tableau.token!;
const IAT = 1_800_000_000;
const ctx = (over: Partial<{ settings: object; access: Partial<MintContext['access']>; user: object; tenant: object; groups: string[] }> = {}): MintContext => ({
  target: { id: 't1', slug: 'tab', baseUrl: 'https://tableau.example.com', settings: { clientId: 'client-1', secretId: 'secret-1', ...(over.settings ?? {}) } },
  access: { groupMappings: { analysts: ['Analysts'], leads: ['Leads'] }, attributes: {}, settings: {}, ...(over.access ?? {}) },
  tenant: { id: 'tn', slug: 'acme', name: 'Acme', attributes: { region: 'tenant', plan: 'gold' }, ...(over.tenant ?? {}) },
  user: { id: 'u1', email: 'Ada@Example.com', firstName: 'Ada', lastName: 'Lovelace', attributes: { region: 'user', login: 'ada.l' }, ...(over.user ?? {}) },
  groups: over.groups ?? ['analysts', 'unmapped'],
  iat: IAT,
  jti: '00000000-0000-4000-8000-000000000001',
});

describe('tableau (connected apps, direct trust)', () => {
  it('signs HS256 with the secret named "secret"; kid = the secret id and iss = the client id in the header', () => {
    const s = token.signing as SecretSigning;
    expect(s).toMatchObject({ alg: 'HS256', secret: 'secret' });
    expect(s.header(ctx().target)).toEqual({ typ: 'JWT', kid: 'secret-1', iss: 'client-1' });
    expect(tableau.secrets.map((x) => [x.name, x.required])).toEqual([['secret', true]]);
  });

  it('claims: jti, iss, aud "tableau", sub = the email as written (case-sensitive), the default scope, iat, exp', () => {
    expect(token.claims(ctx(), IAT + 300)).toEqual({
      jti: '00000000-0000-4000-8000-000000000001',
      iss: 'client-1',
      aud: 'tableau',
      sub: 'Ada@Example.com',
      scp: ['tableau:views:embed'],
      iat: IAT,
      exp: IAT + 300,
    });
  });

  it('never signs more than 10 minutes ahead, whatever exp it is asked for or a stored lifetime says', () => {
    expect(token.claims(ctx(), IAT + 3600).exp).toBe(IAT + 600);
    expect(token.ttlSeconds({ tokenTtlSeconds: 9999 })).toBe(600);
    expect(token.ttlSeconds({})).toBe(300);
    expect(parseTargetSettings(tableau, { clientId: 'c', secretId: 's', tokenTtlSeconds: 601 }).problems.join()).toMatch(/tokenTtlSeconds/);
  });

  it('sends only the listed attributes, each access > user > tenant, and never over a claim of its own', () => {
    const c = token.claims(ctx({ access: { attributes: { region: 'access' }, settings: { userAttributes: ['region', 'plan', 'missing', 'sub'] } } }), IAT + 60);
    expect(c).toMatchObject({ region: 'access', plan: 'gold', sub: 'Ada@Example.com' });
    expect(c).not.toHaveProperty('missing');
    expect(c).not.toHaveProperty('login');
    expect(parseAccessSettings(tableau, { userAttributes: ['sub'] }).problems.join()).toMatch(/reserved claim "sub"/);
  });

  it('on-demand access: the oda flag and the mapped groups', () => {
    const c = token.claims(ctx({ access: { settings: { onDemandAccess: true } } }), IAT + 60);
    expect(c['https://tableau.com/oda']).toBe(true);
    expect(c['https://tableau.com/groups']).toEqual(['Analysts']);
    expect(token.claims(ctx(), IAT + 60)).not.toHaveProperty('https://tableau.com/oda');
  });

  it('the configured scopes; an empty list is refused when saved', () => {
    const scp = ['tableau:views:embed', 'tableau:insights:embed'];
    expect(token.claims(ctx({ settings: { scopes: scp } }), IAT + 60).scp).toEqual(scp);
    expect(parseTargetSettings(tableau, { clientId: 'c', secretId: 's', scopes: [] }).problems.join()).toMatch(/at least one scope/);
    expect(parseTargetSettings(tableau, { clientId: 'c', secretId: 's', scopes: ['tableau:content:read'] }).problems).not.toEqual([]);
  });

  it('the username from an attribute (usernameClaim), or a 400 naming it; the identity rule only for the email', () => {
    expect(token.claims(ctx({ settings: { usernameClaim: 'login' } }), IAT + 60).sub).toBe('ada.l');
    expect(token.identityEmail!(ctx())).toBe('Ada@Example.com');
    expect(token.identityEmail!(ctx({ settings: { usernameClaim: 'login' } }))).toBeNull();
    let err: unknown;
    try {
      token.claims(ctx({ settings: { usernameClaim: 'tableau_user' } }), IAT + 60);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ status: 400, code: 'tableau_username_missing' });
    expect((err as Error).message).toMatch(/tableau_user/);
    expect(tableau.errorCopy?.tableau_username_missing?.title).toBeTruthy();
  });

  it('answers JSON for the SDK (no redirect, no link); the setup guide names the token URL', () => {
    expect(token.json).toBeDefined();
    expect(token.link).toBeUndefined();
    expect((tableau as TargetDefinition).sso).toBeUndefined();
    const guide: SetupGuide = tableau.setupGuide({ slug: 'tab', baseUrl: 'https://tableau.example.com', settings: { clientId: 'client-1', secretId: 'secret-1', allowedOrigins: ['https://app.example.com'] } }, 'https://idp.example.com');
    const values = guide.items.map((i) => i.value);
    expect(values).toEqual(expect.arrayContaining(['https://idp.example.com/embed/tab/token', 'client-1', 'secret-1', 'https://app.example.com']));
  });
});
