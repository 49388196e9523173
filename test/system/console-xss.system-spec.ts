import * as fs from 'node:fs';
import { Browser, chromium } from 'playwright-core';
import request from 'supertest';
import { grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf, signIn } from '../support/cookie-jar';

/**
 * Every value the console (and the login, account and error pages) shows comes from an
 * operator, a tenant admin, a host app or a visitor: each is stored here as a hostile payload
 * straight in the database (bypassing the API's checks, so the renderer alone is tested), each
 * page is rendered, and each page must show every payload as text, never as markup. Pages are
 * parsed by a real HTML parser (chromium, JavaScript on, no CSP to hide behind) when it is
 * installed, and checked as raw markup always.
 */
const CHROMIUM = '/usr/bin/chromium';
const OP_EMAIL = 'ops@platform.example';
const OP_PASSWORD = 'operator password 0001';
const PASSWORD = 'correct horse battery staple';

/** A payload with its marker: breaks out of text, both attribute quotes, a textarea; adds a tag, a handler; unicode look-alikes. At most 100 characters (the shortest columns). */
const P = (m: string) => `${m}"><script>alert(1)</script><img src=x onerror=alert(1)>' onmouseover='alert(1)' </textarea>\u202e\uff1cb\uff1e`;
/** For columns of 64 characters. */
const SHORT = (m: string) => `${m}"><svg onload=alert(1)>'onfocus='alert(1)'</textarea>`;
const JS_URL = 'javascript:alert(1)';

/** Runs in the page: what was injected (handlers, scripts, tags, script URLs), and every text and attribute value. */
const INSPECT = `(() => {
  const bad = [];
  const texts = [document.documentElement.textContent || ''];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      texts.push(a.value);
      if (/^on/i.test(a.name)) bad.push('<' + el.tagName.toLowerCase() + ' ' + a.name + '>');
      if (['href', 'src', 'action', 'formaction'].includes(a.name) && /^[\\s\\u0000-\\u001f]*(javascript|data|vbscript):/i.test(a.value)) bad.push(a.name + '=' + a.value);
    }
  }
  for (const s of document.scripts) if (!/\\/console\\/assets\\/console\\.js$/.test(s.getAttribute('src') || '')) bad.push('script ' + s.outerHTML.slice(0, 60));
  for (const el of document.querySelectorAll('img[src="x"], svg[onload]')) bad.push('injected <' + el.tagName.toLowerCase() + '>');
  return { bad, texts: texts.join('\\n') };
})()`;

describe('no stored value becomes markup on any page', () => {
  let t: TestApp;
  let browser: Browser | null = null;
  /** Markers whose payload must be seen, as text, on at least one page (so the scan looks where the values are). */
  const mustShow = new Map<string, string>();
  const pages: { name: string; status: number; html: string }[] = [];

  const store = (m: string, short = false) => {
    const v = short ? SHORT(m) : P(m);
    mustShow.set(m, v);
    return v;
  };

  beforeAll(async () => {
    t = await createTestApp({ env: { BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD } });
    if (fs.existsSync(CHROMIUM)) browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    const ds = t.ds;

    // A tenant: name, attributes (keys and values), branding, its app's URL.
    const tenant = await makeTenant(ds, { slug: 'xss-corp', name: store('tnam'), attributes: { [store('tatk')]: store('tatv') } });
    await ds.query(
      `UPDATE tenants SET brand_display_name = $2, brand_logo_url = $3, brand_support_contact = $4, logout_landing_url = $5 WHERE id = $1`,
      [tenant.id, store('bdnm'), `https://cdn.example/l.png?${P('blog')}`, JS_URL, JS_URL],
    );
    // Users: names, emails, attributes; a tenant admin; a session with a hostile browser string.
    const hostile = await makeUser(ds, tenant.id, { email: `${store('umai')}@x.example`, firstName: store('ufst'), lastName: store('ulst'), groups: [store('grpa')] });
    const member = await makeUser(ds, tenant.id, { email: 'ada@xss.example', password: PASSWORD, firstName: store('mfst'), lastName: 'L', attributes: { [store('uatk')]: store('uatv') }, groups: ['plain'] });
    const admin = await makeUser(ds, tenant.id, { email: 'admin@xss.example', password: PASSWORD, firstName: store('afst') });
    await ds.query(`UPDATE users SET role = 'tenant_admin' WHERE id = $1`, [admin.id]);
    await ds.query(`INSERT INTO sessions (id, user_id, tenant_id, expires_at, ip, user_agent) VALUES (repeat('a', 64), $1, $2, now() + interval '1 hour', $3, $4)`, [
      hostile.id,
      tenant.id,
      store('sip', true),
      store('suag', true), // the page shows a browser string's first 60 characters
    ]);
    // A target: name, base URL, settings (a string, an array shown in a textarea); a grant with mappings and attributes.
    const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb.example', secret: 'metabase-jwt-secret-0123456789abcdef', slug: 'xss-mb' });
    await ds.query(`UPDATE targets SET name = $2, base_url = $3, settings = $4 WHERE id = $1`, [
      target.id,
      store('tgnm'),
      `https://mb.example/${store('tgbu')}`,
      JSON.stringify({ emailClaim: store('tgse'), allowedOrigins: [store('tgao')], logoutLandingUrl: JS_URL }),
    ]);
    await grantAccess(ds, tenant.id, target.id, {
      groupMappings: { [store('gmap')]: [store('gmpv')], plain: ['x'] },
      attributes: { [store('aatk')]: store('aatv') },
      settings: { lockedParams: { [store('lpak')]: store('lpav') } },
    });
    // Audit events: type, actor, details; refusal reasons and target names feed the overview's charts.
    await ds.query(`INSERT INTO audit_events (type, actor, tenant_id, details) VALUES ($1, $2, $3, $4), ('sso.denied', 'anonymous', $3, $5), ('sso.token_issued', 'system', $3, $6)`, [
      store('aevt', true),
      store('aact'),
      tenant.id,
      JSON.stringify({ note: store('adet'), [store('adky')]: 1 }),
      JSON.stringify({ reason: store('arsn') }),
      JSON.stringify({ target: store('atgt') }),
    ]);

    // The audit page names its actors: a user's email (stored above) and an API key's name.
    await makeApiKey(ds, null, store('aknm'));
    const [apiKey] = await ds.query(`SELECT id FROM api_keys WHERE name = $1`, [P('aknm')]);
    await ds.query(`INSERT INTO audit_events (type, actor, tenant_id, details) VALUES ('user.updated', $1, $3, '{}'), ('login.failure', $2, $3, $4)`, [
      `apikey:${apiKey.id}`,
      `user:${hostile.id}`,
      tenant.id,
      JSON.stringify({ reason: 'bad_password', email: P('umai') }),
    ]);

    const get = async (name: string, jar: CookieJar | null, path: string, headers: Record<string, string> = {}) => {
      let req = request(t.http).get(path).set('Accept', 'text/html');
      for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
      const res = jar ? await jar.on(req) : await req;
      pages.push({ name, status: res.status, html: res.text });
      return res.text;
    };

    // As an operator: every console page, and forms echoing what was typed.
    const op = new CookieJar();
    expect((await signIn(request(t.http), op, { tenant: 'operators', email: OP_EMAIL, password: OP_PASSWORD })).status).toBe(303);
    const base = `/console/tenants/${tenant.id}`;
    await get('overview', op, '/console');
    const list = await get('tenants', op, '/console/tenants');
    await get('tenants search', op, `/console/tenants?q=${encodeURIComponent(store('qten'))}`);
    await get('tenant', op, base);
    await get('tenant user search', op, `${base}?email=${encodeURIComponent(store('qusr'))}`);
    await get('user', op, `${base}/users/${hostile.id}`);
    await get('access', op, `${base}/access/${target.id}`);
    await get('try it', op, `${base}/access/${target.id}/try?email=ada%40xss.example`);
    await get('try it, bad email', op, `${base}/access/${target.id}/try?email=${encodeURIComponent(store('qtry'))}`);
    await get('targets', op, '/console/targets');
    await get('target', op, `/console/targets/${target.id}`);
    await get('audit', op, '/console/audit');
    await get('audit filter', op, `/console/audit?type=${encodeURIComponent(store('qaud', true))}`);
    await get('audit reason filter', op, `/console/audit?reason=${encodeURIComponent(store('qrsn', true))}`);
    const refused = await op.on(
      request(t.http).post('/console/tenants').type('form').send({ _csrf: csrfFieldOf(list), name: store('fnam'), slug: store('fslg', true) }),
    );
    pages.push({ name: 'create tenant, refused', status: refused.status, html: refused.text });

    // As the tenant's admin: the header names the admin and the tenant; the read-only grant.
    const ta = new CookieJar();
    expect((await signIn(request(t.http), ta, { tenant: 'xss-corp', email: 'admin@xss.example', password: PASSWORD })).status).toBe(303);
    await get('overview (tenant admin)', ta, '/console');
    await get('tenant (tenant admin)', ta, base);
    await get('access (tenant admin)', ta, `${base}/access/${target.id}`);

    // The front door in the tenant's look: login, account, an error page.
    await get('login', null, '/login?tenant=xss-corp');
    const me = new CookieJar();
    expect((await signIn(request(t.http), me, { tenant: 'xss-corp', email: 'ada@xss.example', password: PASSWORD })).status).toBe(303);
    await get('account', me, '/account');
    await get('error page', null, '/sso/no-such-target?tenant=xss-corp');
    await get('error page (signed in)', me, '/sso/no-such-target');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('rendered every page it meant to', () => {
    const bad = pages.filter((p) => p.status >= 500 || !/^<!doctype html>/i.test(p.html)).map((p) => `${p.name}: ${p.status}`);
    expect(bad).toEqual([]);
    expect(pages.find((p) => p.name === 'create tenant, refused')?.status).toBe(400);
  });

  it('raw markup: no injected script, tag, handler or javascript: URL', () => {
    const problems: string[] = [];
    for (const p of pages) {
      const scripts = [...p.html.matchAll(/<script\b[^>]*>/gi)].map((m) => m[0]).filter((s) => !/^<script src="[^"]*\/console\/assets\/console\.js" defer>$/.test(s));
      if (scripts.length) problems.push(`${p.name}: ${scripts.join(' ')}`);
      if (/<img\b[^>]*\bsrc=x\b|<svg onload/i.test(p.html)) problems.push(`${p.name}: an injected tag`);
      if (/\b(?:href|src|action|formaction)\s*=\s*["']?\s*(?:javascript|data):/i.test(p.html)) problems.push(`${p.name}: a javascript: URL`);
      const opens = (p.html.match(/<textarea\b/gi) ?? []).length;
      const closes = (p.html.match(/<\/textarea>/gi) ?? []).length;
      if (opens !== closes) problems.push(`${p.name}: ${opens} <textarea> but ${closes} </textarea>`);
    }
    expect(problems).toEqual([]);
  });

  it('parsed by a browser: each payload is text (seen exactly as stored), never an element, attribute, script or link', async () => {
    if (!browser) return; // No browser here: the raw-markup test above is the check.
    const ctx = await browser.newContext({ javaScriptEnabled: true });
    await ctx.route('**/*', (r) => r.abort());
    const problems: string[] = [];
    const seen = new Set<string>();
    try {
      for (const p of pages) {
        const page = await ctx.newPage();
        const dialogs: string[] = [];
        page.on('dialog', (d) => {
          dialogs.push(d.message());
          void d.dismiss();
        });
        await page.setContent(p.html, { waitUntil: 'load' });
        const found = (await page.evaluate(INSPECT)) as { bad: string[]; texts: string };
        await page.waitForTimeout(50);
        for (const b of found.bad) problems.push(`${p.name}: ${b}`);
        for (const d of dialogs) problems.push(`${p.name}: alert(${d}) ran`);
        for (const [m, v] of mustShow) if (found.texts.includes(v) || found.texts.includes(JSON.stringify(v).slice(1, -1))) seen.add(m);
        await page.close();
      }
    } finally {
      await ctx.close();
    }
    expect(problems).toEqual([]);
    // Each stored value was on some page, character for character: escaped once, not dropped.
    expect([...mustShow.keys()].filter((m) => !seen.has(m))).toEqual([]);
  }, 120_000);
});
