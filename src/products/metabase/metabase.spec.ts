import { DomainError } from '../../common/errors';
import { metabase } from './metabase';
import { MintContext, parseResourceId } from '../product-definition';
import { parseAccessSettings, parseTargetSettings } from '..';

const ctx = (over: Partial<{ settings: object; access: Partial<MintContext['access']>; user: object; tenant: object; groups: string[] }> = {}): MintContext => ({
  target: { id: 't1', slug: 'mb', baseUrl: 'https://mb.example.com/', settings: { ...(over.settings ?? {}) } },
  access: { groupMappings: { analysts: ['Analysts', 'Viewers'], admins: ['Admins'] }, attributes: {}, settings: {}, ...(over.access ?? {}) },
  tenant: { id: 'tn', slug: 'acme', name: 'Acme', attributes: { region: 'tenant', plan: 'gold' }, ...(over.tenant ?? {}) },
  user: { id: 'u1', email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', attributes: { region: 'user', locale: 'en' }, ...(over.user ?? {}) },
  groups: over.groups ?? ['analysts', 'unmapped'],
  iat: 1_800_000_000,
  jti: '00000000-0000-4000-8000-000000000001',
});
const { sso, embed } = metabase;

describe('metabase claims', () => {
  it('sends identity, mapped groups, merged attributes and the registered claims', () => {
    const c = sso.claims(ctx({ access: { attributes: { region: 'access' } } }), 1_800_000_120);
    expect(c).toEqual({
      email: 'ada@example.com',
      first_name: 'Ada',
      last_name: 'Lovelace',
      groups: ['Analysts', 'Viewers'],
      region: 'access', // tenant < user < access
      plan: 'gold',
      locale: 'en',
      iat: 1_800_000_000,
      exp: 1_800_000_120,
      jti: '00000000-0000-4000-8000-000000000001',
    });
  });

  it('leaves the groups claim out when nothing maps (an empty array can strip every group)', () => {
    expect(sso.claims(ctx({ groups: ['unmapped'] }), 1)).not.toHaveProperty('groups');
  });

  it('never lets an attribute overwrite a registered or identity claim, and drops @ keys and non-flat values', () => {
    const c = sso.claims(
      ctx({
        user: { attributes: { email: 'evil@example.com', exp: 9, jti: 'x', sub: 's', groups: 'Admins', '@tenant': 'other', obj: { a: 1 } as never } },
      }),
      1_800_000_120,
    );
    expect(c.email).toBe('ada@example.com');
    expect(c.exp).toBe(1_800_000_120);
    expect(c.jti).toBe('00000000-0000-4000-8000-000000000001');
    expect(c.groups).toEqual(['Analysts', 'Viewers']);
    expect(c).not.toHaveProperty('sub');
    expect(c).not.toHaveProperty('@tenant');
    expect(c).not.toHaveProperty('obj');
  });

  it('uses the claim names configured on the target', () => {
    const c = sso.claims(ctx({ settings: { emailClaim: 'mail', firstNameClaim: 'given', lastNameClaim: 'family', groupsClaim: 'roles' } }), 1);
    expect(c).toMatchObject({ mail: 'ada@example.com', given: 'Ada', family: 'Lovelace', roles: ['Analysts', 'Viewers'] });
    expect(c).not.toHaveProperty('email');
  });

  it('sends @tenant and @tenant.attributes only when the target has Metabase tenants on', () => {
    expect(sso.claims(ctx(), 1)).not.toHaveProperty('@tenant');
    const on = sso.claims(ctx({ settings: { tenantsEnabled: true } }), 1);
    expect(on['@tenant']).toBe('acme');
    expect(on['@tenant.attributes']).toEqual({ region: 'tenant', plan: 'gold' });
    const mapped = sso.claims(ctx({ settings: { tenantsEnabled: true }, access: { settings: { metabaseTenantSlug: 'acme_eu' } } }), 1);
    expect(mapped['@tenant']).toBe('acme_eu');
  });

  it('@tenant.attributes follows access > tenant: an attribute the access binds wins over the tenant-editable one', () => {
    const c = sso.claims(ctx({ settings: { tenantsEnabled: true }, access: { attributes: { region: 'access', customer: 'c-1' } } }), 1);
    expect(c['@tenant.attributes']).toEqual({ region: 'access', plan: 'gold', customer: 'c-1' });
    expect(c.region).toBe('access');
  });

  it('refuses a Metabase tenant slug Metabase would refuse', () => {
    const bad = () => sso.claims(ctx({ settings: { tenantsEnabled: true }, access: { settings: { metabaseTenantSlug: 'Acme EU' } } }), 1);
    expect(bad).toThrow(DomainError);
  });

  it('shared account: the client account is the identity, the real user travels as attributes', () => {
    const c = sso.claims(ctx({ access: { settings: { sharedAccount: { email: 'Client-Acme@Example.com', lastName: 'Team' } } } }), 1);
    expect(c).toMatchObject({ email: 'client-acme@example.com', first_name: 'Acme', last_name: 'Team', user_email: 'ada@example.com', locale: 'en' });
  });
});

describe('metabase return_to and URLs', () => {
  const target = ctx().target;
  it('accepts a relative path or a URL on the Metabase origin, refuses the rest', () => {
    expect(sso.redirect!.normaliseReturnTo(undefined, target)).toBe('/');
    expect(sso.redirect!.normaliseReturnTo('/question/1?a=1&b=2', target)).toBe('/question/1?a=1&b=2');
    expect(sso.redirect!.normaliseReturnTo('https://mb.example.com/dashboard/2', target)).toBe('https://mb.example.com/dashboard/2');
    expect(sso.redirect!.normaliseReturnTo('https://evil.example.com/dashboard/2', target)).toBeNull();
    expect(sso.redirect!.normaliseReturnTo('https://mb.example.com.evil.com/', target)).toBeNull();
    expect(sso.redirect!.normaliseReturnTo('//evil.example.com', target)).toBeNull();
    expect(sso.redirect!.normaliseReturnTo('javascript:alert(1)', target)).toBeNull();
  });

  it('redirects to /auth/sso with return_to encoded, and logs out at /auth/logout', () => {
    const c = ctx();
    expect(sso.redirect!.url(c, 'a.b.c', '/q/1?a=1&b=2')).toBe('https://mb.example.com/auth/sso?jwt=a.b.c&return_to=%2Fq%2F1%3Fa%3D1%26b%3D2');
    expect(metabase.logoutUrl!(c)).toBe('https://mb.example.com/auth/logout');
  });
});

describe('metabase signed embeds', () => {
  it('locks params to the user attribute, then the tenant attribute', () => {
    const c = ctx({ access: { settings: { lockedParams: { region: 'region', plan: 'plan' } } } });
    expect(embed.payload(c, 'dashboard', 7, 1_800_000_060)).toEqual({
      resource: { dashboard: 7 },
      params: { region: 'user', plan: 'gold' },
      exp: 1_800_000_060,
    });
  });

  it('never locks a parameter to a list (an empty list turns the filter off): a non-flat attribute counts as missing', () => {
    const c = ctx({ access: { attributes: { region: [] as never }, settings: { lockedParams: { region: 'region' } } }, user: { attributes: {} }, tenant: { attributes: {} } });
    expect(() => embed.payload(c, 'dashboard', 7, 1)).toThrow(/"region"/);
  });

  it('names a locked parameter without a value', () => {
    const c = ctx({ access: { settings: { lockedParams: { store: 'store_id' } } } });
    expect(() => embed.payload(c, 'question', 1, 1)).toThrow(/"store".*"store_id"/);
  });

  it('signs an entity ID as a string and a numeric id as a number (Metabase looks a string up as an entity ID)', () => {
    expect(embed.payload(ctx(), 'dashboard', 'yqcdnPAMZvo3Dw0Snxa6s', 1)).toEqual({ resource: { dashboard: 'yqcdnPAMZvo3Dw0Snxa6s' }, params: {}, exp: 1 });
    expect(embed.payload(ctx(), 'question', 12, 1)).toEqual({ resource: { question: 12 }, params: {}, exp: 1 });
  });

  it('builds the iframe URL', () => {
    expect(embed.url(ctx().target, 'question', 'tok')).toBe('https://mb.example.com/embed/question/tok#bordered=true&titled=true');
  });
});

describe('metabase guest embeds', () => {
  const allowed = (settings: object, kind: string, id: number | string) => embed.guest!.allowed({ groupMappings: {}, attributes: {}, settings: settings as never }, kind, id);
  it('signs only listed entities; an empty list or none allows nothing', () => {
    expect(allowed({ embeddableDashboards: ['7'] }, 'dashboard', 7)).toBe(true);
    expect(allowed({ embeddableDashboards: ['7'] }, 'question', 7)).toBe(false);
    expect(allowed({ embeddableDashboards: [] }, 'dashboard', 7)).toBe(false);
    expect(allowed({}, 'dashboard', 7)).toBe(false);
    expect(allowed({ embeddableQuestions: '7' }, 'question', 7)).toBe(false);
  });

  it('matches an entity ID exactly: another, another case, or the same text under the other kind is refused', () => {
    const list = { embeddableDashboards: ['yqcdnPAMZvo3Dw0Snxa6s', '7'] };
    expect(allowed(list, 'dashboard', 'yqcdnPAMZvo3Dw0Snxa6s')).toBe(true);
    expect(allowed(list, 'dashboard', 'YQCDNPAMZVO3DW0SNXA6S')).toBe(false);
    expect(allowed(list, 'dashboard', 'zqcdnPAMZvo3Dw0Snxa6s')).toBe(false);
    expect(allowed(list, 'question', 'yqcdnPAMZvo3Dw0Snxa6s')).toBe(false);
    expect(allowed(list, 'dashboard', 7)).toBe(true);
  });
});

describe('metabase resource ids', () => {
  const parse = (raw: unknown) => parseResourceId(embed.resourceIds, raw);
  it.each([
    ['7', 7],
    [7, 7],
    ['9007199254740991', 9007199254740991],
    ['yqcdnPAMZvo3Dw0Snxa6s', 'yqcdnPAMZvo3Dw0Snxa6s'],
    ['A_b-0123456789abcdefg', 'A_b-0123456789abcdefg'],
    ['123456789012345678901', '123456789012345678901'], // 21 digits: an entity ID, never a number
  ])('takes %j as %j', (raw, id) => {
    expect(parse(raw)).toBe(id);
  });

  it.each([
    ['0'], ['01'], ['1e3'], ['-1'], ['7.0'], [0], [-7], [7.5], [Number.MAX_SAFE_INTEGER + 1], ['9007199254740993'],
    ['yqcdnPAMZvo3Dw0Snxa6'], // 20 characters
    ['yqcdnPAMZvo3Dw0Snxa6sX'], // 22 characters
    ['yqcdnPAMZvo3Dw0Snxa6!'], ['yqcdnPAMZvo3Dw0Snxa6.'], ['yqcdnPAMZvo3Dw0Snxa 6'], ['yqcdnPAMZvo3Dw0Snxa6é'],
    [''], [null], [undefined], [true], [{}], [['7']],
  ])('refuses %j', (raw) => {
    expect(parse(raw)).toBeNull();
  });

  it('the access allow-lists take both forms and refuse anything else, naming the rule', () => {
    const ok = parseAccessSettings(metabase, { embeddableDashboards: ['7', 'yqcdnPAMZvo3Dw0Snxa6s'], embeddableQuestions: ['A_b-0123456789abcdefg'] });
    expect(ok.problems).toEqual([]);
    for (const bad of ['07', 'yqcdnPAMZvo3Dw0Snxa6', 'yqcdnPAMZvo3Dw0Snxa6sX', 'yqcdnPAMZvo3Dw0Snxa6!']) {
      const r = parseAccessSettings(metabase, { embeddableDashboards: [bad] });
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]).toMatch(/21-character entity ID/);
    }
  });
});

describe('metabase settings', () => {
  it('refuses claim names that clash with registered or other identity claims', () => {
    expect(parseTargetSettings(metabase, { emailClaim: 'sub' }).problems).toEqual(['settings.emailClaim must not be the registered claim "sub"']);
    expect(parseTargetSettings(metabase, { groupsClaim: 'email' }).problems).toHaveLength(1);
    expect(parseTargetSettings(metabase, { tokenTtlSeconds: 120, tenantsEnabled: true }).problems).toEqual([]);
  });
});
