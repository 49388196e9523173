import { Logger } from '@nestjs/common';
import { AddressInfo, createServer, Server, Socket } from 'node:net';
import request from 'supertest';
import { makeApiKey, makeTenant, makeUser } from '../factories';
import { MailService } from '../../src/mail/mail.service';
import { MailContent } from '../../src/mail/mail-render';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf, signIn } from '../support/cookie-jar';
import { TestSmtp } from '../support/smtp';

/** The outbox and its worker against a real SMTP server (smtp-server) and real Postgres. */
const LINK = 'https://idp.example.test/invite/SECRET-LINK-TOKEN-0123456789';
const content = (brand: MailContent['brand'] = null): MailContent => ({
  subject: 'You are invited',
  brand,
  heading: 'Set your password',
  paragraphs: ['Someone invited you.'],
  action: { label: 'Set your password', url: LINK },
  note: 'The link works once, for 72 hours.',
});

describe('mail over SMTP (SMTP_URL set)', () => {
  const smtp = new TestSmtp();
  let t: TestApp;
  let mail: MailService;

  beforeAll(async () => {
    await smtp.start();
    t = await createTestApp({
      env: { SMTP_URL: smtp.url, MAIL_FROM: 'Acme Sign-in <signin@idp.example.test>', BOOTSTRAP_OPERATOR_EMAIL: 'op@platform.example', BOOTSTRAP_OPERATOR_PASSWORD: 'operator password 0001' },
    });
    mail = t.app.get(MailService);
  });
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });

  it('sends nothing when the transaction that queued it rolls back', async () => {
    await expect(
      t.ds.transaction(async (m) => {
        await mail.enqueue(m, { tenantId: null, purpose: 'test', to: 'rolled@back.test', content: content() });
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    await mail.drain();
    expect(smtp.received.filter((r) => r.to.includes('rolled@back.test'))).toHaveLength(0);
    expect(await t.ds.query(`SELECT 1 FROM mail_outbox WHERE to_address = 'rolled@back.test'`)).toHaveLength(0);
  });

  it('delivers a committed message over SMTP: text and HTML, From MAIL_FROM, the tenant named; the body sealed at rest', async () => {
    const tenant = await makeTenant(t.ds, { name: 'Acme <Analytics>' });
    const before = smtp.received.length;
    const id = await t.ds.transaction((m) =>
      mail.enqueue(m, { tenantId: tenant.id, purpose: 'invitation', to: 'ada@acme.test', content: content({ name: 'Acme <Analytics>', logoUrl: null, accentColor: '#0a5d3a', supportContact: 'help@acme.test' }) }),
    );
    const [row] = await t.ds.query(`SELECT status, body_enc FROM mail_outbox WHERE id = $1`, [id]);
    expect(row.body_enc).not.toContain('SECRET-LINK-TOKEN');
    mail.dispatch([id]);
    const [got] = (await smtp.waitFor(before + 1)).slice(before);
    expect(got.to).toEqual(['ada@acme.test']);
    expect(got.headers.from).toContain('signin@idp.example.test');
    expect(got.subject).toBe('You are invited');
    expect(got.text).toContain(LINK);
    expect(got.text).toContain('“Acme <Analytics>”');
    expect(got.html).toContain(`href="${LINK}"`);
    // The tenant's name is escaped in the HTML part.
    expect(got.html).toContain('Acme &lt;Analytics&gt;');
    expect(got.html).not.toContain('<Analytics>');
    expect(got.html).toContain('#0a5d3a');
    await mail.drain();
    const [sent] = await t.ds.query(`SELECT status, attempts, sent_at FROM mail_outbox WHERE id = $1`, [id]);
    expect(sent).toMatchObject({ status: 'sent', attempts: 1 });
    expect(sent.sent_at).not.toBeNull();
  });

  it('the console lists sent messages but never shows their bodies (their links are the recipients\')', async () => {
    const id = await t.ds.transaction((m) => mail.enqueue(m, { tenantId: null, purpose: 'invitation', to: 'private@acme.test', content: content() }));
    mail.dispatch([id]);
    await mail.drain();
    const op = new CookieJar();
    expect((await signIn(request(t.http), op, { tenant: 'operators', email: 'op@platform.example', password: 'operator password 0001' })).status).toBe(303);
    const list = await op.on(request(t.http).get('/console/outbox')).expect(200);
    expect(list.text).toContain('private@acme.test');
    expect(list.text).not.toContain(`/console/outbox/${id}`);
    const one = await op.on(request(t.http).get(`/console/outbox/${id}`));
    expect(one.status).toBe(404);
    expect(one.text).toContain('There is nothing here');
    expect(one.text).not.toContain('SECRET-LINK-TOKEN');
  });

  it('retries a message the server refused for now, later, and sends it once', async () => {
    const before = smtp.received.length;
    smtp.refuseNext(1);
    const id = await t.ds.transaction((m) => mail.enqueue(m, { tenantId: null, purpose: 'test', to: 'retry@acme.test', content: content() }));
    mail.dispatch([id]);
    await mail.drain();
    const [failed] = await t.ds.query(`SELECT status, attempts, last_error, next_attempt_at > now() + interval '20 seconds' AS later FROM mail_outbox WHERE id = $1`, [id]);
    expect(failed).toMatchObject({ status: 'pending', attempts: 1, later: true });
    expect(failed.last_error).toMatch(/451|try again/);
    expect(smtp.received.length).toBe(before);
    // Not due yet: a drain now sends nothing.
    await mail.drain();
    expect(smtp.received.length).toBe(before);
    await t.ds.query(`UPDATE mail_outbox SET next_attempt_at = now() WHERE id = $1`, [id]);
    await mail.drain();
    await smtp.waitFor(before + 1);
    expect(smtp.received.slice(before).map((r) => r.to)).toEqual([['retry@acme.test']]);
    const [sent] = await t.ds.query(`SELECT status, attempts FROM mail_outbox WHERE id = $1`, [id]);
    expect(sent).toEqual({ status: 'sent', attempts: 2 });
  });
});

describe('a mail server that accepts connections and never answers', () => {
  let t: TestApp;
  let silent: Server;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    silent = createServer((socket) => {
      // No greeting, ever: nodemailer waits for one.
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t = await createTestApp({ env: { SMTP_URL: `smtp://127.0.0.1:${(silent.address() as AddressInfo).port}` } });
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await t.close();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('holds no request: an invitation and a reset request answer at once, their mail still pending', async () => {
    const tenant = await makeTenant(t.ds);
    await makeUser(t.ds, tenant.id, { email: 'known@acme.test', password: 'a bystander with a password of her own' });
    const key = await makeApiKey(t.ds);
    let started = Date.now();
    await request(t.http).post(`/api/v1/tenants/${tenant.id}/invitations`).set('Authorization', `Bearer ${key}`).send({ email: 'ada@acme.test' }).expect(201);
    expect(Date.now() - started).toBeLessThan(2000);
    const jar = new CookieJar();
    const page = jar.store(await jar.on(request(t.http).get('/login/forgot')).expect(200));
    started = Date.now();
    const res = await jar.on(request(t.http).post('/login/forgot')).type('form').send({ _csrf: csrfFieldOf(page.text), tenant: tenant.slug, email: 'known@acme.test' });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);
    // The worker is meanwhile stuck on the silent server (up to its greeting timeout): nothing sent.
    let rows: { status: string }[] = [];
    for (let i = 0; i < 50 && rows.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      rows = await t.ds.query(`SELECT status FROM mail_outbox ORDER BY created_at`);
    }
    expect(sockets.size).toBeGreaterThan(0);
    expect(rows.map((r: { status: string }) => r.status)).toEqual(['pending', 'pending']);
  });
});

describe('mail without SMTP_URL outside production: the outbox', () => {
  const OP_EMAIL = 'op@platform.example';
  const OP_PASSWORD = 'operator password 0001';
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { SMTP_URL: undefined, BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD } });
  });
  afterAll(() => t.close());

  it('the console\'s Outbox shows a held invitation to operators, with its link, which works; a tenant admin may not look', async () => {
    const tenant = await makeTenant(t.ds, { name: 'Acme' });
    const key = await makeApiKey(t.ds);
    const made = await request(t.http).post(`/api/v1/tenants/${tenant.id}/invitations`).set('Authorization', `Bearer ${key}`).send({ email: 'ada@acme.test' }).expect(201);
    expect(made.body).toMatchObject({ delivery: 'outbox' });
    expect(made.body.link).toBeUndefined();
    const op = new CookieJar();
    expect((await signIn(request(t.http), op, { tenant: 'operators', email: OP_EMAIL, password: OP_PASSWORD })).status).toBe(303);
    const list = await op.on(request(t.http).get('/console/outbox')).expect(200);
    expect(list.text).toContain('No SMTP_URL is set: messages are kept here');
    const [row] = await t.ds.query(`SELECT id, status FROM mail_outbox WHERE to_address = 'ada@acme.test'`);
    expect(row.status).toBe('held');
    expect(list.text).toContain(`href="/console/outbox/${row.id}"`);
    const message = await op.on(request(t.http).get(`/console/outbox/${row.id}`)).expect(200);
    const link = /http:\/\/[^\s<"]+\/account\/invitation\?token=[A-Za-z0-9_-]{43}/.exec(message.text)![0];
    const u = new URL(link);
    expect((await request(t.http).get(`${u.pathname}${u.search}`).expect(200)).text).toContain('Set your password');
    for (const missing of ['00000000-0000-4000-8000-000000000000', 'not-an-id']) expect((await op.on(request(t.http).get(`/console/outbox/${missing}`))).status).toBe(404);

    const admin = await makeUser(t.ds, tenant.id, { email: 'admin@acme.test', password: 'a bystander with a password of her own' });
    await t.ds.query(`UPDATE users SET role = 'tenant_admin' WHERE id = $1`, [admin.id]);
    const ta = new CookieJar();
    expect((await signIn(request(t.http), ta, { tenant: tenant.slug, email: 'admin@acme.test', password: 'a bystander with a password of her own' })).status).toBe(303);
    expect((await ta.on(request(t.http).get(`/console/outbox/${row.id}`))).status).toBe(403);
    expect((await ta.on(request(t.http).get('/console/outbox'))).status).toBe(403);
  });

  it('keeps the message (held) and logs that it did, without the link', async () => {
    const mail = t.app.get(MailService);
    expect(mail.mode).toBe('outbox');
    const logged: string[] = [];
    const spy = jest.spyOn(Logger.prototype, 'log').mockImplementation(function (this: Logger, ...args: unknown[]) {
      logged.push(JSON.stringify(args));
    });
    try {
      const id = await t.ds.transaction((m) => mail.enqueue(m, { tenantId: null, purpose: 'invitation', to: 'held@acme.test', content: content() }));
      mail.dispatch([id]);
      const [row] = await t.ds.query(`SELECT status FROM mail_outbox WHERE id = $1`, [id]);
      expect(row.status).toBe('held');
      const read = await mail.read(id!);
      expect(read!.body.text).toContain(LINK);
      expect(logged.join('\n')).toMatch(/outbox/);
      expect(logged.join('\n')).toContain(id!);
      expect(logged.join('\n')).not.toContain('SECRET-LINK-TOKEN');
      expect(logged.join('\n')).not.toContain('held@acme.test');
    } finally {
      spy.mockRestore();
    }
  });
});

describe('mail in production without SMTP_URL: off, and said so', () => {
  const OP_EMAIL = 'op@platform.example';
  const OP_PASSWORD = 'operator password 0001';
  let t: TestApp;
  let key: string;
  let tenant: { id: string; slug: string };

  beforeAll(async () => {
    t = await createTestApp({
      env: { NODE_ENV: 'production', PUBLIC_URL: 'https://idp.example.com', LOG_LEVEL: 'silent', SMTP_URL: undefined, BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD },
    });
    key = await makeApiKey(t.ds);
    tenant = await makeTenant(t.ds, { name: 'Acme' });
  });
  afterAll(() => t.close());

  const outbox = async () => Number((await t.ds.query(`SELECT count(*)::int AS n FROM mail_outbox`))[0].n);

  it('an invitation returns its link to the operator (API), which works; nothing is queued', async () => {
    expect(t.app.get(MailService).mode).toBe('off');
    const res = await request(t.http).post(`/api/v1/tenants/${tenant.id}/invitations`).set('Authorization', `Bearer ${key}`).send({ email: 'ada@acme.test' }).expect(201);
    expect(res.body).toMatchObject({ email: 'ada@acme.test', delivery: 'link' });
    expect(res.body.link).toMatch(/^https:\/\/idp\.example\.com\/account\/invitation\?token=[A-Za-z0-9_-]{43}$/);
    const page = await request(t.http).get(new URL(res.body.link).pathname + new URL(res.body.link).search).expect(200);
    expect(page.text).toContain('Set your password');
    expect(await outbox()).toBe(0);
    // Not stored in clear: only its hash.
    const [row] = await t.ds.query(`SELECT token_hash FROM account_links WHERE id = $1`, [res.body.id]);
    expect(row.token_hash).not.toContain(new URL(res.body.link).searchParams.get('token'));
  });

  it('the console says there is no mail and shows the link once to copy', async () => {
    const jar = new CookieJar();
    expect((await signIn(request(t.http), jar, { tenant: 'operators', email: OP_EMAIL, password: OP_PASSWORD })).status).toBe(303);
    const page = jar.store(await jar.on(request(t.http).get(`/console/tenants/${tenant.id}/invitations`)).expect(200));
    expect(page.text).toContain('No mail is set up on this service (SMTP_URL)');
    const made = await jar.on(request(t.http).post(`/console/tenants/${tenant.id}/invitations`)).type('form').send({ _csrf: csrfFieldOf(page.text), email: 'grace@acme.test' });
    expect(made.status).toBe(201);
    expect(made.text).toContain('Invitation link for grace@acme.test');
    expect(made.text).toMatch(/https:\/\/idp\.example\.com\/account\/invitation\?token=[A-Za-z0-9_-]{43}/);
    const again = await jar.on(request(t.http).get(`/console/tenants/${tenant.id}/invitations`)).expect(200);
    expect(again.text).not.toMatch(/invitation\?token=/);
    expect(await outbox()).toBe(0);
  });

  it('"Forgot password?" says reset by email is not set up, and a post sends nothing', async () => {
    await makeUser(t.ds, tenant.id, { email: 'known@acme.test', password: 'a bystander with a password of her own' });
    const jar = new CookieJar();
    const page = jar.store(await jar.on(request(t.http).get('/login/forgot')).expect(200));
    expect(page.text).toContain('Password reset by email is not set up on this service');
    expect(page.text).not.toContain('<form method="post" action="/login/forgot"');
    const res = await jar.on(request(t.http).post('/login/forgot')).type('form').send({ _csrf: csrfFieldOf((await jar.on(request(t.http).get('/login')).expect(200)).text), tenant: tenant.slug, email: 'known@acme.test' });
    // A post anyway (a page opened before, a script) gets the same words, not "Check your email".
    expect(res.status).toBe(200);
    expect(res.text).toContain('Password reset by email is not set up on this service');
    expect(res.text).not.toContain('Check your email');
    await new Promise((r) => setTimeout(r, 300));
    expect(await outbox()).toBe(0);
    expect(await t.ds.query(`SELECT id FROM account_links WHERE purpose = 'password_reset'`)).toEqual([]);
  });
});
