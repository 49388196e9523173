import { createHash } from 'node:crypto';
import request from 'supertest';
import { makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, signIn } from '../support/cookie-jar';

const PASSWORD = 'correct horse battery staple';
const styleHashes = (html: string) =>
  [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1], 'utf8').digest('base64')}'`);

/**
 * A tenant's look: set through the admin API by the tenant's own key,
 * validated field by field, shown escaped on the pages that know the tenant.
 */
describe('tenant branding', () => {
  let t: TestApp;
  let globalKey: string;
  beforeAll(async () => {
    t = await createTestApp();
    globalKey = await makeApiKey(t.ds);
  });
  afterAll(async () => {
    await t.close();
  });

  const patch = (tenantId: string, body: object, key = globalKey) =>
    request(t.http).patch(`/api/v1/tenants/${tenantId}`).set('Authorization', `Bearer ${key}`).send(body);
  const brandRow = async (tenantId: string) =>
    (
      await t.ds.query(
        `SELECT brand_display_name, brand_logo_url, brand_accent_color, brand_support_contact FROM tenants WHERE id = $1`,
        [tenantId],
      )
    )[0];

  describe('admin API', () => {
    it('sets, normalises, returns and clears branding field by field', async () => {
      const tenant = await makeTenant(t.ds, { name: 'Acme Corp' });
      const res = await patch(tenant.id, {
        branding: { displayName: '  Acme Analytics ', logoUrl: 'https://CDN.acme.example/logo.svg', accentColor: '#0A5D3A', supportContact: 'help@acme.example' },
      }).expect(200);
      expect(res.body.branding).toEqual({
        displayName: 'Acme Analytics',
        logoUrl: 'https://cdn.acme.example/logo.svg',
        accentColor: '#0a5d3a',
        supportContact: 'help@acme.example',
      });
      // null clears one field; the others stay.
      const cleared = await patch(tenant.id, { branding: { logoUrl: null } }).expect(200);
      expect(cleared.body.branding).toEqual({ ...res.body.branding, logoUrl: null });
      const events = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'tenant.updated' AND tenant_id = $1 ORDER BY id`, [tenant.id]);
      expect(events.at(-1).details.changes).toEqual({ brandLogoUrl: null });
    });

    it('accepts branding when creating a tenant', async () => {
      const res = await request(t.http)
        .post('/api/v1/tenants')
        .set('Authorization', `Bearer ${globalKey}`)
        .send({ slug: 'initech', name: 'Initech', branding: { accentColor: '#ffd500', supportContact: 'https://initech.example/help' } })
        .expect(201);
      expect(res.body.branding).toEqual({ displayName: null, logoUrl: null, accentColor: '#ffd500', supportContact: 'https://initech.example/help' });
    });

    it.each([
      [{ accentColor: 'red' }, 'Accent colour must be a colour written #rrggbb'],
      [{ accentColor: '#fff' }, 'Accent colour'],
      [{ accentColor: '#12345g' }, 'Accent colour'],
      [{ accentColor: '#123456;}body{display:none' }, 'Accent colour'],
      [{ accentColor: 123456 }, 'Accent colour'],
      [{ logoUrl: 'http://cdn.acme.example/logo.svg' }, 'Logo address must be an https:// URL'],
      [{ logoUrl: 'javascript:alert(1)' }, 'Logo address'],
      [{ logoUrl: 'data:image/svg+xml,<svg onload=alert(1)>' }, 'Logo address'],
      [{ logoUrl: 'https://user:pw@cdn.acme.example/logo.svg' }, 'Logo address'],
      [{ logoUrl: 'https://cdn.acme.example/x.svg" onerror="alert(1)' }, 'Logo address'],
      [{ supportContact: 'javascript:alert(1)' }, 'Support contact must be an email address or an https:// URL'],
      [{ supportContact: 'mailto:help@acme.example' }, 'Support contact'],
      [{ supportContact: '"><script>alert(1)</script>@acme.example' }, 'Support contact'],
      [{ displayName: '<script>alert(1)</script>' }, 'Name shown to users must not contain < > or control characters'],
      [{ displayName: '' }, 'Name shown to users must be 1 to 200 characters long'],
      [{ displayName: 'x'.repeat(201) }, 'Name shown to users'],
      [{ colour: '#000000' }, '"colour" is not a field this accepts'],
    ])('refuses %j with a 400 naming the field, and writes nothing', async (branding, message) => {
      const tenant = await makeTenant(t.ds);
      const before = await brandRow(tenant.id);
      const res = await patch(tenant.id, { branding: { accentColor: '#0a5d3a', ...branding } }).expect(400);
      expect(res.body.message).toContain(message);
      expect(await brandRow(tenant.id)).toEqual(before);
    });

    it('refuses branding that is not an object', async () => {
      const tenant = await makeTenant(t.ds);
      for (const branding of ['#000000', ['x'], null]) {
        const res = await patch(tenant.id, { branding }).expect(400);
        expect(res.body.message).toBe('Branding must be an object');
      }
    });

    it('a tenant-scoped key edits its own branding and no one else\'s', async () => {
      const a = await makeTenant(t.ds);
      const b = await makeTenant(t.ds);
      const bKey = await makeApiKey(t.ds, b.id);
      await patch(b.id, { branding: { accentColor: '#aa0000', displayName: 'B Corp' } }, bKey).expect(200);
      expect(await brandRow(b.id)).toMatchObject({ brand_accent_color: '#aa0000', brand_display_name: 'B Corp' });
      const before = await brandRow(a.id);
      const res = await patch(a.id, { branding: { accentColor: '#aa0000', displayName: 'Hijacked' } }, bKey).expect(404);
      expect(res.body.error).toBe('tenant_not_found');
      expect(await brandRow(a.id)).toEqual(before);
    });

    it('the database refuses a colour or logo the rules refuse, even from outside the API', async () => {
      const tenant = await makeTenant(t.ds);
      await expect(t.ds.query(`UPDATE tenants SET brand_accent_color = 'red' WHERE id = $1`, [tenant.id])).rejects.toThrow(/ck_tenants_brand_accent_color/);
      await expect(t.ds.query(`UPDATE tenants SET brand_logo_url = 'javascript:alert(1)' WHERE id = $1`, [tenant.id])).rejects.toThrow(/ck_tenants_brand_logo_url/);
    });
  });

  describe('pages', () => {
    async function brandedTenant(branding: object) {
      const tenant = await makeTenant(t.ds, { name: 'Acme Corp' });
      await patch(tenant.id, { branding }).expect(200);
      return tenant;
    }

    /**
     * Whether a tenant exists is not for an anonymous visitor to learn: `/login?tenant=<slug>`
     * pre-fills the organization and nothing else, for a known slug exactly as for an unknown
     * one. The tenant's look appears once someone has signed in to it.
     */
    const neutral = (html: string, slug: string) => html.replace(/name="_csrf" value="[^"]+"/, 'name="_csrf" value="TOKEN"').split(slug).join('SLUG');

    it('the login page looks the same, byte for byte, for a known branded tenant and an unknown slug', async () => {
      const tenant = await brandedTenant({ displayName: 'Acme Analytics', logoUrl: 'https://cdn.acme.example/logo.svg', accentColor: '#ffd500', supportContact: 'help@acme.example' });
      const unknown = `no-such-${tenant.slug}`.slice(0, 63);
      const known = await request(t.http).get(`/login?tenant=${tenant.slug}`).expect(200);
      const other = await request(t.http).get(`/login?tenant=${unknown}`).expect(200);
      expect(neutral(known.text, tenant.slug)).toBe(neutral(other.text, unknown));
      expect(known.headers['content-security-policy']).toBe(other.headers['content-security-policy']);
      for (const res of [known, other]) {
        expect(res.text).not.toContain('Acme');
        expect(res.text).not.toContain('class="brand"');
        expect(res.text).toContain('<title>Sign in</title>');
        expect(res.headers['content-security-policy']).toMatch(/img-src 'self'(;|$)/);
      }
      // The organization is pre-filled, still editable, for both.
      expect(known.text).toContain(`id="tenant" name="tenant" type="text"`);
      expect(known.text).toContain(`value="${tenant.slug}"`);
    });

    it('a rejected sign-in does not tell a known organization from an unknown one either', async () => {
      const tenant = await brandedTenant({ displayName: 'Acme Analytics' });
      const unknown = `no-such-${tenant.slug}`.slice(0, 63);
      const attempt = async (slug: string) => {
        const jar = new CookieJar();
        const res = await signIn(request(t.http), jar, { tenant: slug, email: 'nobody@example.com', password: 'wrong password 1' });
        expect(res.status).toBe(401);
        return neutral(res.text, slug);
      };
      // The old form's hidden `org_preset` changes nothing.
      const jar = new CookieJar();
      const page = jar.store(await request(t.http).get('/login'));
      const preset = await jar.on(request(t.http).post('/login')).type('form').send({ _csrf: /name="_csrf" value="([^"]+)"/.exec(page.text)![1], tenant: tenant.slug, org_preset: '1', email: 'nobody@example.com', password: 'wrong password 1' });
      expect(preset.text).not.toContain('Acme');
      expect(await attempt(tenant.slug)).toBe(await attempt(unknown));
    });

    it('an anonymous error page with ?tenant= is in our own look, known tenant or not', async () => {
      const tenant = await brandedTenant({ displayName: 'Acme Analytics', supportContact: 'help@acme.example' });
      const unknown = `no-such-${tenant.slug}`.slice(0, 63);
      const get = (slug: string) => request(t.http).get(`/sso/nope?tenant=${slug}`).set('Accept', 'text/html').set('X-Request-Id', 'req-brand-1').expect(404);
      const [known, other] = [await get(tenant.slug), await get(unknown)];
      expect(known.text).not.toContain('Acme');
      expect(known.text).not.toContain('class="brand"');
      expect(neutral(known.text, tenant.slug)).toBe(neutral(other.text, unknown));
    });

    it('escapes a display name even when a row holds markup (written around the API)', async () => {
      const tenant = await makeTenant(t.ds);
      await t.ds.query(`UPDATE tenants SET brand_display_name = $2 WHERE id = $1`, [tenant.id, '<img src=x onerror=alert(1)>"']);
      const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
      const jar = new CookieJar();
      expect((await signIn(request(t.http), jar, { tenant: tenant.slug, email: user.email, password: PASSWORD })).status).toBe(303);
      const res = await jar.on(request(t.http).get('/account')).expect(200);
      expect(res.text).toContain('&lt;img src=x onerror=alert(1)&gt;&quot;</span>');
      expect(res.text).not.toContain('<img src=x');
    });

    it('a signed-in page shows the tenant\'s name, logo, colours and support contact, attributed to the organization', async () => {
      const tenant = await brandedTenant({ displayName: 'Acme Analytics', logoUrl: 'https://cdn.acme.example/logo.svg', accentColor: '#ffd500', supportContact: 'help@acme.example' });
      const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
      const jar = new CookieJar();
      expect((await signIn(request(t.http), jar, { tenant: tenant.slug, email: user.email, password: PASSWORD })).status).toBe(303);
      const res = await jar.on(request(t.http).get('/account')).expect(200);
      expect(res.text).toContain('<div class="brand"><img src="https://cdn.acme.example/logo.svg" alt="" referrerpolicy="no-referrer"><span><small>Your organization</small>Acme Analytics</span></div>');
      // One organization, one name: the header names it; the page does not name it again otherwise.
      expect(res.text).not.toContain(`<strong>${tenant.name}</strong>`);
      // Yellow: black text on the button.
      expect(res.text).toContain(':root{--accent:#ffd500;--on-accent:#000000}');
      expect(res.text).toContain('<a href="mailto:help@acme.example">help@acme.example</a>');
      // The policy allows exactly this page's styles and its logo's origin, nothing more.
      const csp = res.headers['content-security-policy'];
      for (const h of styleHashes(res.text)) expect(csp).toContain(h);
      expect(csp).toMatch(/img-src 'self' https:\/\/cdn\.acme\.example(;|$)/);
      expect(csp).not.toMatch(/script-src|unsafe-inline/);
    });

    it('the signed-out and error pages use the session\'s tenant look', async () => {
      const tenant = await brandedTenant({ displayName: 'Acme Analytics', accentColor: '#0a5d3a', supportContact: 'https://acme.example/help' });
      const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
      const jar = new CookieJar();
      expect((await signIn(request(t.http), jar, { tenant: tenant.slug, email: user.email, password: PASSWORD })).status).toBe(303);

      const account = await jar.on(request(t.http).get('/account')).expect(200);
      expect(account.text).toContain('Acme Analytics</span>');

      const missing = await jar.on(request(t.http).get('/sso/no-such-target').set('Accept', 'text/html')).expect(404);
      expect(missing.text).toContain('<title>Page not found</title>');
      expect(missing.text).toContain('<span><small>Your organization</small>Acme Analytics</span>');
      expect(missing.text).toContain('--accent:#0a5d3a');
      expect(missing.text).toContain('<a href="https://acme.example/help">acme.example</a>');
      expect(missing.text).toContain(`href="/login?tenant=${tenant.slug}"`);

      const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://metabase.example.test', secret: 'x'.repeat(40) });
      const noAccess = await jar.on(request(t.http).get(`/sso/${target.slug}`).set('Accept', 'text/html')).expect(403);
      expect(noAccess.text).toContain('<title>No access</title>');
      expect(noAccess.text).toContain(`href="/logout?return_to=${encodeURIComponent(`/login?tenant=${tenant.slug}`)}"`);

      const out = await jar.on(request(t.http).get('/logout')).expect(200);
      expect(out.text).toContain('You are signed out');
      expect(out.text).toContain('<small>Your organization</small>Acme Analytics</span>');
      expect(out.text).toContain(`<a class="button" href="/login?tenant=${tenant.slug}">Sign in again</a>`);
    });
  });
});
