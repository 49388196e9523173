import { sha256Hex } from '../../src/crypto/tokens';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeMetabase, Hop, MiniBrowser, startFakeMetabase } from '../fakes/metabase';
import { FakeSisense, SISENSE_SESSION_COOKIE, startFakeSisense } from '../fakes/sisense';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';
import { csrfFieldOf } from '../support/cookie-jar';

/**
 * The whole redirect dance as a browser walks it, through the REAL login form (no session
 * inserted behind the service's back): the BI tool sends the visitor to us, we send them to
 * the login page, the form is read and submitted with the cookies the page set, and the
 * continuation takes them back to the BI tool with a token it accepts — then out again.
 * Both fakes verify tokens with jose (the products' contracts, README), not with the code that minted them.
 */
const MB_SECRET = 'dance-metabase-jwt-secret-0123456789abcdef';
const SS_SECRET = 'dance-sisense-shared-secret-0123456789abcdef';
const PASSWORD = 'correct horse battery staple';
const MB_SLUG = 'mb-dance';
const SS_SLUG = 'sisense-dance';

const unescapeHtml = (s: string) =>
  s.replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);

/** The login form of a page as a browser sees it: where it posts and its hidden fields. */
function formOf(html: string): { action: string; hidden: Record<string, string> } {
  const forms = [...html.matchAll(/<form method="post" action="([^"]*)"/g)];
  expect(forms).toHaveLength(1);
  const hidden: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) hidden[m[1]] = unescapeHtml(m[2]);
  // A pre-filled organization (the browser sends it as it stands).
  const org = /<input id="tenant" name="tenant" type="text"[^>]* value="([^"]*)"/.exec(html);
  if (org && org[1]) hidden.tenant = unescapeHtml(org[1]);
  return { action: unescapeHtml(forms[0][1]), hidden };
}

/** The src of each hidden BI-logout iframe on our signed-out page. */
const iframeSrcs = (html: string) => [...html.matchAll(/<iframe class="bi-logout" src="([^"]+)"/g)].map((m) => unescapeHtml(m[1]));

describe('SSO redirect dance through the real login form', () => {
  let t: TestApp;
  let base: string;
  let mb: FakeMetabase;
  let ss: FakeSisense;
  let tenant: { id: string; slug: string; name: string };
  let user: { id: string; email: string };
  let mbTarget: { id: string; slug: string };
  let ssTarget: { id: string; slug: string };

  beforeAll(async () => {
    // The service must know the URL the browser uses (continuations, cookies).
    const port = await freePort();
    t = await createTestApp({ env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } });
    base = await t.listen(port);
    tenant = await makeTenant(t.ds, { name: 'Dance Corp', attributes: { plan: 'gold', region: 'tenant-region' } });
    user = await makeUser(t.ds, tenant.id, {
      email: 'grace@example.com',
      password: PASSWORD,
      firstName: 'Grace',
      lastName: 'Hopper',
      attributes: { region: 'emea' },
      groups: ['analysts', 'staff'],
    });
    // Metabase with our IdP URI (naming the tenant); Sisense with our Remote Login and Logout URLs.
    mb = await startFakeMetabase({ jwtSecret: MB_SECRET, idpUri: `${base}/sso/${MB_SLUG}?tenant=${tenant.slug}` });
    ss = await startFakeSisense({ secret: SS_SECRET, remoteLoginUrl: `${base}/sso/${SS_SLUG}`, remoteLogoutUrl: `${base}/sso/${SS_SLUG}/logout` });
    mbTarget = await makeTarget(t, { kind: 'metabase', slug: MB_SLUG, baseUrl: mb.url, secret: MB_SECRET });
    ssTarget = await makeTarget(t, { kind: 'sisense', slug: SS_SLUG, baseUrl: ss.url, secret: SS_SECRET });
    await grantAccess(t.ds, tenant.id, mbTarget.id, { groupMappings: { analysts: ['Analysts', 'Viewers'] }, attributes: { source: 'dance' } });
    await grantAccess(t.ds, tenant.id, ssTarget.id, { groupMappings: { analysts: ['Sisense Analysts'] } });
  });
  afterAll(async () => {
    await mb?.close();
    await ss?.close();
    await t?.close();
  });

  const abs = (path: string) => new URL(path, base).toString();
  const statuses = (hops: Hop[]) => hops.map((h) => h.status);

  /**
   * From our 302 to /login to the form's 303: loads the login page, reads its form and posts
   * the hidden fields plus what the visitor types. Returns the page's hidden fields and the POST.
   */
  async function logInThroughForm(browser: MiniBrowser, loginUrl: string, typed: Record<string, string>) {
    const page = await browser.get(loginUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(browser.jar(base).get('eidp_csrf')).toBeDefined();
    expect(browser.jar(base).get('eidp_session')).toBeUndefined();
    const form = formOf(page.text);
    expect(form.action).toBe('/login');
    expect(form.hidden._csrf).toBe(csrfFieldOf(page.text));
    const posted = await browser.post(abs(form.action), { ...form.hidden, ...typed });
    return { hidden: form.hidden, posted };
  }

  /** The session the form opened: its id is the hash of the cookie, and login.success names it. */
  async function sessionOf(browser: MiniBrowser): Promise<string> {
    const cookie = browser.jar(base).cookie('eidp_session');
    expect(cookie?.attributes.httponly).toBe(true);
    const sessionId = sha256Hex(cookie!.value);
    const [ev] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'login.success' AND details->>'sessionId' = $1`, [sessionId]);
    expect(ev.details).toMatchObject({ userId: user.id, email: user.email });
    return sessionId;
  }

  const logoutEvents = (sessionId: string) =>
    t.ds.query(`SELECT tenant_id, actor, details FROM audit_events WHERE type = 'logout' AND details->>'sessionId' = $1`, [sessionId]);

  it('Metabase: page -> IdP URI -> login form -> continuation -> /auth/sso accepted -> the page; then our logout ends Metabase too', async () => {
    const browser = new MiniBrowser();
    const mbPage = `${mb.url}/dashboard/1?a=1&b=2`;

    // 1. No Metabase session: Metabase sends the browser to our IdP URI, return_to appended raw.
    const toIdp = await browser.get(mbPage);
    expect(toIdp.status).toBe(302);
    expect(toIdp.location).toBe(`${base}/sso/${MB_SLUG}?tenant=${tenant.slug}&return_to=/dashboard/1?a=1&b=2`);

    // 2. No session of ours: to the login page, organization pre-filled, continuation whole.
    const toLogin = await browser.get(toIdp.location!);
    expect(toLogin.status).toBe(302);
    const loginUrl = new URL(toLogin.location!);
    expect(loginUrl.origin + loginUrl.pathname).toBe(`${base}/login`);
    expect(loginUrl.searchParams.get('tenant')).toBe(tenant.slug);
    const next = loginUrl.searchParams.get('next')!;
    expect(next).toBe(`/sso/${MB_SLUG}?return_to=${encodeURIComponent('/dashboard/1?a=1&b=2')}`);
    expect(mb.logins).toHaveLength(0);

    // 3. The real form: the page carries the continuation and the pre-filled organization.
    const { hidden, posted } = await logInThroughForm(browser, loginUrl.toString(), { email: user.email, password: PASSWORD });
    expect(hidden).toEqual({ _csrf: expect.any(String), next, tenant: tenant.slug });
    expect(posted.status).toBe(303);
    expect(posted.location).toBe(abs(next));
    expect(posted.headers.get('cache-control')).toBe('no-store');
    const sessionId = await sessionOf(browser);

    // 4. The continuation mints and sends to Metabase, which accepts and shows the page asked for.
    const hops = await browser.follow(posted.location!);
    expect(statuses(hops)).toEqual([302, 302, 200]);
    const toSso = new URL(hops[0].location!);
    expect(toSso.origin + toSso.pathname).toBe(`${mb.url}/auth/sso`);
    expect(toSso.searchParams.get('return_to')).toBe('/dashboard/1?a=1&b=2');
    expect(hops[0].headers.get('cache-control')).toBe('no-store');
    expect(hops[1].location).toBe(mbPage);
    expect(JSON.parse(hops[2].text)).toEqual({ page: '/dashboard/1?a=1&b=2' });
    expect(mb.rejections).toEqual([]);

    // What Metabase accepted: identity, groups mapped (the unmapped one not sent), attributes.
    expect(mb.logins).toHaveLength(1);
    const l = mb.logins[0];
    expect(l).toMatchObject({ email: user.email, firstName: 'Grace', lastName: 'Hopper', returnTo: '/dashboard/1?a=1&b=2' });
    expect([...l.groups!].sort()).toEqual(['Analysts', 'Viewers']);
    expect(l.attributes).toEqual({ plan: 'gold', region: 'emea', source: 'dance' });
    expect(l.claims.email).toBe(user.email);
    const jti = l.claims.jti as string;
    const [rec] = await t.ds.query(`SELECT * FROM issued_tokens WHERE jti = $1`, [jti]);
    expect(rec).toMatchObject({ target_id: mbTarget.id, tenant_id: tenant.id, user_id: user.id, session_id: sessionId, iat: String(l.claims.iat) });

    // 5. Our logout: the signed-out page, with a hidden iframe that ends the Metabase session.
    const out = await browser.get(`${base}/logout`);
    expect(out.status).toBe(200);
    expect(out.text).toContain('You are signed out');
    expect(browser.jar(base).get('eidp_session')).toBeUndefined();
    const frames = iframeSrcs(out.text);
    expect(frames).toEqual([`${mb.url}/auth/logout`]);
    expect(out.headers.get('content-security-policy')).toContain(`frame-src ${mb.url}`);
    const [ev] = await logoutEvents(sessionId);
    expect(ev).toMatchObject({ tenant_id: tenant.id, actor: `user:${user.id}` });
    expect(ev.details.via).toBeUndefined();

    // The browser loads the iframe with its Metabase cookies: Metabase's session ends.
    const mbSession = browser.jar(mb.url).get('metabase.SESSION');
    expect(mbSession).toBeDefined();
    const logoutsBefore = mb.logouts;
    const frame = await browser.get(frames[0]);
    expect(frame.status).toBe(200);
    expect(mb.logouts).toBe(logoutsBefore + 1);
    expect(browser.jar(mb.url).get('metabase.SESSION')).toBeUndefined();
    // Ended on Metabase's side too, not only forgotten by the browser: the old cookie is dead.
    browser.jar(mb.url).set('metabase.SESSION', mbSession!);

    // 6. Out of both: the next Metabase page goes to the IdP, and the IdP to the login page.
    const again = await browser.follow(mbPage);
    expect(statuses(again)).toEqual([302, 302, 200]);
    expect(again[0].location).toBe(toIdp.location);
    expect(new URL(again[1].location!).pathname).toBe('/login');
    expect(mb.logins).toHaveLength(1);
  });

  it('Sisense: page -> Remote Login URL -> login form -> continuation -> /jwt accepted -> the page; Sisense logout -> Remote Logout URL ends ours', async () => {
    const browser = new MiniBrowser();
    const path = '/app/main/dashboards/5f1?embed=true&filter=a%26b';
    const ssPage = `${ss.url}${path}`;

    // 1. No Sisense session: Sisense sends the browser to our Remote Login URL with return_to.
    const toIdp = await browser.get(ssPage);
    expect(toIdp.status).toBe(302);
    expect(toIdp.location).toBe(`${base}/sso/${SS_SLUG}?return_to=${encodeURIComponent(path)}`);

    // 2. No session of ours: the login page (organization asked for: the URL names none).
    const toLogin = await browser.get(toIdp.location!);
    expect(toLogin.status).toBe(302);
    const loginUrl = new URL(toLogin.location!);
    expect(loginUrl.origin + loginUrl.pathname).toBe(`${base}/login`);
    expect(loginUrl.searchParams.get('tenant')).toBeNull();
    const next = loginUrl.searchParams.get('next')!;
    expect(next).toBe(`/sso/${SS_SLUG}?return_to=${encodeURIComponent(path)}`);

    // 3. The real form, organization typed in.
    const { hidden, posted } = await logInThroughForm(browser, loginUrl.toString(), {
      tenant: tenant.slug,
      email: user.email,
      password: PASSWORD,
    });
    expect(hidden).toEqual({ _csrf: expect.any(String), next });
    expect(posted.status).toBe(303);
    expect(posted.location).toBe(abs(next));
    const sessionId = await sessionOf(browser);

    // 4. The continuation mints, Sisense accepts at /jwt, opens its session and shows the page.
    const loginsBefore = ss.logins.length;
    const hops = await browser.follow(posted.location!);
    expect(statuses(hops)).toEqual([302, 302, 200]);
    const toJwt = new URL(hops[0].location!);
    expect(toJwt.origin + toJwt.pathname).toBe(`${ss.url}/jwt`);
    expect(toJwt.searchParams.get('return_to')).toBe(path);
    expect(hops[0].headers.get('cache-control')).toBe('no-store');
    expect(hops[1].location).toBe(ssPage);
    expect(browser.jar(ss.url).get(SISENSE_SESSION_COOKIE)).toBeDefined();
    expect(JSON.parse(hops[2].text)).toEqual({ page: path, user: user.email });
    expect(ss.rejections).toEqual([]);

    expect(ss.logins).toHaveLength(loginsBefore + 1);
    const l = ss.logins.at(-1)!;
    expect(l).toMatchObject({ tenant: null, email: user.email, returnTo: path });
    expect(l.claims).toMatchObject({ sub: user.email, firstName: 'Grace', lastName: 'Hopper', groups: ['Sisense Analysts'] });
    expect(l.claims).not.toHaveProperty('tenantId');
    const [rec] = await t.ds.query(`SELECT * FROM issued_tokens WHERE jti = $1`, [l.jti]);
    expect(rec).toMatchObject({ target_id: ssTarget.id, tenant_id: tenant.id, user_id: user.id, session_id: sessionId, iat: String(l.iat) });

    // 5. Logging out of Sisense: Sisense ends its session and calls our Remote Logout URL,
    //    which ends ours and lands on our signed-out page (no other BI tool to end).
    const out = await browser.follow(`${ss.url}/api/v1/authentication/logout`);
    expect(out.map((h) => [h.status, h.location])).toEqual([
      [302, `${base}/sso/${SS_SLUG}/logout`],
      [302, `${base}/logout`],
      [200, null],
    ]);
    expect(out[2].text).toContain('You are signed out');
    expect(iframeSrcs(out[2].text)).toEqual([]);
    expect(browser.jar(ss.url).get(SISENSE_SESSION_COOKIE)).toBeUndefined();
    expect(browser.jar(base).get('eidp_session')).toBeUndefined();
    const [s] = await t.ds.query(`SELECT revoked_at FROM sessions WHERE id = $1`, [sessionId]);
    expect(s.revoked_at).not.toBeNull();
    const events = await logoutEvents(sessionId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ tenant_id: tenant.id, actor: `user:${user.id}` });
    expect(events[0].details).toMatchObject({ via: 'sisense', target: SS_SLUG, userId: user.id });

    // 6. Our session is over: our SSO URL goes to the login page again, as does the Sisense page.
    const sso = await browser.get(`${base}/sso/${SS_SLUG}?return_to=${encodeURIComponent('/app/main')}`);
    expect(sso.status).toBe(302);
    expect(new URL(sso.location!).pathname).toBe('/login');
    const again = await browser.follow(ssPage);
    expect(statuses(again)).toEqual([302, 302, 200]);
    expect(new URL(again[1].location!).pathname).toBe('/login');
    expect(ss.logins).toHaveLength(loginsBefore + 1);
  });
  it('one session in both: Sisense signs in through the form, Metabase passes straight through; Sisense logout ends Metabase too', async () => {
    const browser = new MiniBrowser();
    const toLogin = await browser.follow(`${ss.url}/app/main`, 2);
    expect(statuses(toLogin)).toEqual([302, 302]);
    const { posted } = await logInThroughForm(browser, toLogin[1].location!, { tenant: tenant.slug, email: user.email, password: PASSWORD });
    expect(posted.status).toBe(303);
    const sessionId = await sessionOf(browser);
    expect(statuses(await browser.follow(posted.location!))).toEqual([302, 302, 200]);

    // Metabase, same browser: our session is live, so no login form on the way.
    const mbLogins = mb.logins.length;
    const viaIdp = await browser.follow(`${mb.url}/question/7`);
    expect(viaIdp.map((h) => new URL(h.url).origin + new URL(h.url).pathname)).toEqual([
      `${mb.url}/question/7`,
      `${base}/sso/${MB_SLUG}`,
      `${mb.url}/auth/sso`,
      `${mb.url}/question/7`,
    ]);
    expect(statuses(viaIdp)).toEqual([302, 302, 302, 200]);
    expect(mb.logins).toHaveLength(mbLogins + 1);
    const [rec] = await t.ds.query(`SELECT session_id FROM issued_tokens WHERE jti = $1`, [mb.logins.at(-1)!.claims.jti]);
    expect(rec.session_id).toBe(sessionId);

    // Sisense logout -> our Remote Logout URL: the session had Metabase open, so the answer is
    // our signed-out page with Metabase's logout in an iframe, moving on to /logout afterwards.
    const out = await browser.follow(`${ss.url}/api/v1/authentication/logout`);
    expect(out.map((h) => [h.status, h.location])).toEqual([
      [302, `${base}/sso/${SS_SLUG}/logout`],
      [200, null],
    ]);
    expect(iframeSrcs(out[1].text)).toEqual([`${mb.url}/auth/logout`]);
    expect(out[1].text).toContain('<meta http-equiv="refresh" content="3;url=/logout">');
    expect(browser.jar(base).get('eidp_session')).toBeUndefined();
    expect((await logoutEvents(sessionId))[0].details).toMatchObject({ via: 'sisense', target: SS_SLUG });

    const frame = await browser.get(iframeSrcs(out[1].text)[0]);
    expect(frame.status).toBe(200);
    expect(browser.jar(mb.url).get('metabase.SESSION')).toBeUndefined();
    const again = await browser.follow(`${mb.url}/question/7`);
    expect(statuses(again)).toEqual([302, 302, 200]);
    expect(new URL(again[1].location!).pathname).toBe('/login');
    expect(mb.logins).toHaveLength(mbLogins + 1);
  });
});
