import { SignJWT } from 'jose';
import { FakeMetabase, MiniBrowser, startFakeMetabase } from './metabase';

/**
 * The fake is only worth something if it refuses what Metabase refuses: each rule of
 * the contract in the README gets a token that breaks it, signed with jose (not our minting code).
 */
const SECRET = 'metabase-jwt-secret-0123456789abcdef';
const EMBED_SECRET = 'metabase-embedding-secret-0123456789';
const enc = (s: string) => new TextEncoder().encode(s);
const nowS = () => Math.floor(Date.now() / 1000);

async function token(claims: Record<string, unknown>, o: { secret?: string; alg?: string; noIat?: boolean } = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: o.alg ?? 'HS256' });
  if (!o.noIat && claims.iat === undefined) jwt.setIssuedAt(nowS());
  return jwt.sign(enc(o.secret ?? SECRET));
}

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('fake Metabase (test/fakes/metabase.ts)', () => {
  let mb: FakeMetabase;
  let mbTenants: FakeMetabase;

  beforeAll(async () => {
    mb = await startFakeMetabase({
      jwtSecret: SECRET,
      embeddingSecret: EMBED_SECRET,
      idpUri: 'https://idp.example.com/sso/mb',
      embedParams: { 'dashboard/7': ['region'] },
      entityIds: { 'dashboard/yqcdnPAMZvo3Dw0Snxa6s': 7, 'question/A_b-0123456789abcdefg': 3 },
    });
    mbTenants = await startFakeMetabase({ jwtSecret: SECRET, tenantsEnabled: true });
  });
  afterAll(async () => {
    await mb.close();
    await mbTenants.close();
  });

  const sso = (fake: FakeMetabase, jwt: string, returnTo?: string) =>
    fetch(`${fake.url}/auth/sso?jwt=${jwt}${returnTo === undefined ? '' : `&return_to=${encodeURIComponent(returnTo)}`}`, { redirect: 'manual' });

  describe('JWT SSO', () => {
    it('accepts a good token, records the login with the attributes Metabase derives, and redirects to return_to', async () => {
      const before = mb.logins.length;
      const jwt = await token({
        email: 'Ada@Example.com',
        first_name: 'Ada',
        last_name: 'Lovelace',
        groups: ['Analysts'],
        region: 'emea',
        level: 3,
        vip: true,
        nested: { a: 1 },
        list: [1],
        '@hidden': 'x',
        jti: 'j-1',
        exp: nowS() + 60,
      });
      const res = await sso(mb, jwt, '/dashboard/1?a=1&b=2');
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/dashboard/1?a=1&b=2');
      expect(mb.logins.length).toBe(before + 1);
      const login = mb.logins[mb.logins.length - 1];
      expect(login).toMatchObject({ email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', groups: ['Analysts'] });
      expect(login.attributes).toEqual({ region: 'emea', level: 3, vip: true });
    });

    it('accepts an absolute return_to on its own host', async () => {
      const res = await sso(mb, await token({ email: 'a@example.com' }), `${mb.url}/question/2`);
      expect(res.status).toBe(302);
    });

    it('accepts an iat exactly 180 s old and refuses one 181 s old (on a fixed clock)', async () => {
      const clock = 1_800_000_000;
      const fixed = await startFakeMetabase({ jwtSecret: SECRET, now: () => clock });
      try {
        expect((await sso(fixed, await token({ email: 'a@example.com', iat: clock - 180 }))).status).toBe(302);
        const old = await sso(fixed, await token({ email: 'a@example.com', iat: clock - 181 }));
        expect(old.status).toBe(401);
        expect(fixed.logins).toHaveLength(1);
      } finally {
        await fixed.close();
      }
    });

    const refusals: [string, () => Promise<string>, number, RegExp][] = [
      ['the wrong key', () => token({ email: 'a@example.com' }, { secret: 'another-secret-another-secret-0000' }), 401, /signature/],
      ['HS512', () => token({ email: 'a@example.com' }, { alg: 'HS512' }), 401, /algorithm/],
      ['alg none', async () => `${b64({ alg: 'none' })}.${b64({ email: 'a@example.com', iat: nowS() })}.`, 401, /invalid token|algorithm/],
      ['an iat 181 s old', () => token({ email: 'a@example.com', iat: nowS() - 181 }), 401, /older than 180/],
      ['no iat', () => token({ email: 'a@example.com' }, { noIat: true }), 401, /iat is required/],
      ['a fractional iat', () => token({ email: 'a@example.com', iat: nowS() + 0.5 }), 401, /iat/],
      ['no email', () => token({ first_name: 'Ada' }), 401, /email/],
      ['a blank email', () => token({ email: '  ' }), 401, /email/],
      ['an exp one second ago (no leeway)', () => token({ email: 'a@example.com', exp: nowS() - 1 }), 401, /exp/],
      ['an nbf in the future', () => token({ email: 'a@example.com', nbf: nowS() + 30 }), 401, /nbf/],
      ['groups that are not an array of strings', () => token({ email: 'a@example.com', groups: 'Analysts' }), 400, /groups/],
      ['@tenant while tenants are off', () => token({ email: 'a@example.com', '@tenant': 'acme' }), 403, /tenants are not enabled/],
    ];
    it.each(refusals)('refuses %s', async (_name, make, status, reason) => {
      const before = mb.logins.length;
      const res = await sso(mb, await make());
      expect(res.status).toBe(status);
      expect(await res.text()).toMatch(reason);
      expect(res.headers.get('location')).toBeNull();
      expect(mb.logins.length).toBe(before);
    });

    it.each([['https://evil.example.com/x'], ['//evil.example.com/x'], ['javascript:alert(1)']])('refuses return_to %s', async (rt) => {
      const before = mb.logins.length;
      const res = await sso(mb, await token({ email: 'a@example.com' }), rt);
      expect(res.status).toBe(400);
      expect(mb.logins.length).toBe(before);
    });

    it('with tenants on: accepts @tenant, refuses a malformed one and a user moving tenants', async () => {
      const ok = await sso(mbTenants, await token({ email: 't@example.com', '@tenant': 'acme_1', '@tenant.attributes': { plan: 'gold' } }));
      expect(ok.status).toBe(302);
      expect(mbTenants.logins[mbTenants.logins.length - 1]).toMatchObject({ tenant: 'acme_1', tenantAttributes: { plan: 'gold' } });
      const bad = await sso(mbTenants, await token({ email: 'u@example.com', '@tenant': 'Acme Corp' }));
      expect(bad.status).toBe(400);
      const moved = await sso(mbTenants, await token({ email: 't@example.com', '@tenant': 'other' }));
      expect(moved.status).toBe(403);
    });

    it('sends a visitor without a session to the IdP with return_to appended unencoded, then lets the session in', async () => {
      const browser = new MiniBrowser();
      const first = await browser.get(`${mb.url}/dashboard/5?tab=2&x=y`);
      expect(first.status).toBe(302);
      expect(first.location).toBe('https://idp.example.com/sso/mb?return_to=/dashboard/5?tab=2&x=y');
      const login = await browser.get(`${mb.url}/auth/sso?jwt=${await token({ email: 'b@example.com' })}&return_to=%2Fdashboard%2F5`);
      expect(login.status).toBe(302);
      const page = await browser.get(`${mb.url}/dashboard/5`);
      expect(page.status).toBe(200);
      const out = await browser.get(`${mb.url}/auth/logout`);
      expect(out.status).toBe(200);
      expect((await browser.get(`${mb.url}/dashboard/5`)).status).toBe(302);
    });
  });

  describe('the Embedding SDK\'s calls (X-Metabase-Client: embedding-sdk-react)', () => {
    const SDK = { 'X-Metabase-Client': 'embedding-sdk-react', 'X-Metabase-Client-Version': '0.58.0' };
    const call = (query: string, headers: Record<string, string>) => fetch(`${mb.url}/auth/sso${query}`, { headers, redirect: 'manual' });

    it('discovery names the JWT Identity Provider URI and hands out a hash; the exchange with it answers the session with the JWT\'s exp and iat', async () => {
      const discovery = await call('?preferred_method=jwt', SDK);
      expect(discovery.status).toBe(200);
      const d = (await discovery.json()) as { url: string; method: string; hash: string };
      expect(d).toEqual({ url: 'https://idp.example.com/sso/mb', method: 'jwt', hash: expect.stringMatching(/^[0-9a-f]{32}$/) });

      const exp = nowS() + 120;
      const jwt = await token({ email: 'sdk@example.com', exp });
      const before = mb.logins.length;
      const res = await call(`?jwt=${jwt}`, { ...SDK, 'X-Metabase-SDK-JWT-Hash': d.hash });
      expect(res.status).toBe(200);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await res.json()).toEqual({ status: 'ok', id: expect.any(String), exp, iat: expect.any(Number) });
      expect(mb.logins.length).toBe(before + 1);
    });

    it('without a hash it only answers discovery (no login); a bad token with one is refused like any other', async () => {
      const before = mb.logins.length;
      const noHash = await call(`?jwt=${await token({ email: 'sdk@example.com', exp: nowS() + 60 })}`, SDK);
      expect(((await noHash.json()) as { method: string }).method).toBe('jwt');
      expect(mb.logins.length).toBe(before);
      const { hash } = (await (await call('', SDK)).json()) as { hash: string };
      const bad = await call(`?jwt=${await token({ email: 'sdk@example.com' }, { secret: 'another-secret-0123456789abcdef0123' })}`, { ...SDK, 'X-Metabase-SDK-JWT-Hash': hash });
      expect(bad.status).toBe(401);
      expect(mb.logins.length).toBe(before);
    });
  });

  describe('static embeds', () => {
    const embedToken = (payload: Record<string, unknown>, o: { secret?: string; alg?: string } = {}) =>
      new SignJWT(payload).setProtectedHeader({ alg: o.alg ?? 'HS256' }).sign(enc(o.secret ?? EMBED_SECRET));
    const open = (kind: string, jwt: string) => fetch(`${mb.url}/embed/${kind}/${jwt}`, { redirect: 'manual' });

    it('accepts a good token with its locked params and records it', async () => {
      const res = await open('dashboard', await embedToken({ resource: { dashboard: 7 }, params: { region: 'emea' }, exp: nowS() + 60 }));
      expect(res.status).toBe(200);
      expect(mb.embeds[mb.embeds.length - 1]).toMatchObject({ kind: 'dashboard', id: 7, params: { region: 'emea' } });
    });

    it('accepts an entity ID (a JSON string) for the resource it stands for, with that resource\'s locked params', async () => {
      const res = await open('dashboard', await embedToken({ resource: { dashboard: 'yqcdnPAMZvo3Dw0Snxa6s' }, params: { region: 'emea' }, exp: nowS() + 60 }));
      expect(res.status).toBe(200);
      expect(mb.embeds[mb.embeds.length - 1]).toMatchObject({ kind: 'dashboard', id: 7, entityId: 'yqcdnPAMZvo3Dw0Snxa6s' });
      expect((await open('question', await embedToken({ resource: { question: 'A_b-0123456789abcdefg' }, params: {} }))).status).toBe(200);
    });

    it('allows 60 s of leeway on exp, not more', async () => {
      expect((await open('question', await embedToken({ resource: { question: 3 }, params: {}, exp: nowS() - 30 }))).status).toBe(200);
      expect((await open('question', await embedToken({ resource: { question: 3 }, params: {}, exp: nowS() - 90 }))).status).toBe(401);
    });

    const refusals: [string, string, () => Promise<string>, number][] = [
      ['the JWT SSO secret instead of the embedding secret', 'question', () => embedToken({ resource: { question: 3 }, params: {} }, { secret: SECRET }), 401],
      ['HS384', 'question', () => embedToken({ resource: { question: 3 }, params: {} }, { alg: 'HS384' }), 401],
      ['no params', 'question', () => embedToken({ resource: { question: 3 } }), 400],
      ['a resource of the other kind', 'dashboard', () => embedToken({ resource: { question: 3 }, params: {} }), 400],
      ['a missing locked parameter', 'dashboard', () => embedToken({ resource: { dashboard: 7 }, params: {} }), 400],
      ['an unknown parameter', 'dashboard', () => embedToken({ resource: { dashboard: 7 }, params: { region: 'x', other: 1 } }), 400],
      ['a numeric id as a string (looked up as an entity ID)', 'question', () => embedToken({ resource: { question: '3' }, params: {} }), 400],
      ['a 20-character entity ID', 'question', () => embedToken({ resource: { question: 'A_b-0123456789abcdef' }, params: {} }), 400],
      ['a 22-character entity ID', 'question', () => embedToken({ resource: { question: 'A_b-0123456789abcdefgh' }, params: {} }), 400],
      ['an entity ID with a character outside [A-Za-z0-9_-]', 'question', () => embedToken({ resource: { question: 'A_b-0123456789abcdef.' }, params: {} }), 400],
      ['an unknown entity ID', 'question', () => embedToken({ resource: { question: 'Z_b-0123456789abcdefg' }, params: {} }), 404],
      ['an entity ID of the other kind', 'dashboard', () => embedToken({ resource: { dashboard: 'A_b-0123456789abcdefg' }, params: {} }), 404],
      ['a zero id', 'question', () => embedToken({ resource: { question: 0 }, params: {} }), 400],
    ];
    it.each(refusals)('refuses %s', async (_name, kind, make, status) => {
      const before = mb.embeds.length;
      expect((await open(kind, await make())).status).toBe(status);
      expect(mb.embeds.length).toBe(before);
    });
  });
});
