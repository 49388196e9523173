import { Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DataSource, EntityManager, IsNull, MoreThan } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { badRequest, conflict, DomainError, notFound } from '../../common/errors';
import { normaliseEmail } from '../../common/identifiers';
import type { RequestMeta } from '../../common/request-meta';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { randomToken, sha256Hex } from '../../crypto/tokens';
import { MailService } from '../../mail/mail.service';
import { MfaService } from '../../mfa/mfa.service';
import type { Tenant } from '../../tenants/tenant.entity';
import { TenantsService } from '../../tenants/tenants.service';
import type { UserRole } from '../../users/user.entity';
import { PasswordsService } from '../../users/passwords.service';
import { UsersService } from '../../users/users.service';
import { AccountLink, AccountLinkPurpose } from '../account-link.entity';
import { COMPANY_SIGN_IN, CompanySignIn, passwordsRefused } from '../company-sign-in';
import { LoginThrottleService } from '../login/login-throttle.service';
import { SessionsService } from '../sessions.service';
import { invitationMail, passwordChangedMail, resetMail } from './account-mails';

/** How long a link works: an invitation waits for someone to read their mail; a reset is asked for now (OWASP Forgot Password Cheat Sheet: short-lived). */
export const LINK_LIFETIME_SECONDS: Record<AccountLinkPurpose, number> = { invitation: 72 * 3600, password_reset: 30 * 60 };

/** Reset requests per account (organization + email, known or not) and per IP within the window. */
export const RESET_ACCOUNT_LIMIT = 3;
export const RESET_IP_LIMIT = 30;
export const RESET_WINDOW_SECONDS = 3600;

/** The account is locked (or its IP over its limits) after too many wrong passwords: 429 with Retry-After. */
const tooManyGuesses = (retryAfterSeconds: number) =>
  Object.assign(new DomainError(AccountsError.TooManyPasswordGuesses, 429, 'Too many wrong passwords. Your password was not changed; wait a while, then try again.'), { retryAfterSeconds });

export enum AccountsError {
  InvitationNotFound = 'invitation_not_found',
  AlreadyHasPassword = 'user_has_password',
  LinkInvalid = 'link_invalid',
  CurrentPasswordWrong = 'current_password_wrong',
  TooManyResets = 'too_many_reset_requests',
  TooManyPasswordGuesses = 'too_many_password_guesses',
  PasswordSignInOff = 'password_sign_in_off',
}

export interface InviteInput {
  email: string;
  firstName?: string;
  lastName?: string;
  role?: UserRole;
  groups?: string[];
}

/** What inviting did: how the person gets the link, and the link itself only when no mail can carry it. */
export interface InvitationResult {
  id: string;
  userId: string;
  email: string;
  expiresAt: Date;
  /** `email`: sent over SMTP; `outbox`: kept in the outbox (no SMTP_URL, development); `link`: give the person `link` yourself. */
  delivery: 'email' | 'outbox' | 'link';
  link?: string;
}

/** An unspent link's owner, for the page that uses it. */
export interface LinkOwner {
  linkId: string;
  tenantId: string;
  tenantSlug: string;
  /** The tenant's two-step policy: an invitation's sign-in follows it. */
  tenantMfaPolicy: Tenant['mfaPolicy'];
  userId: string;
  email: string;
}

const PASSWORDS_OFF = (status: 403 | 409, slug: string) =>
  new DomainError(
    AccountsError.PasswordSignInOff,
    status,
    `The organization “${slug}” signs its people in with their company account, not a password (password sign-in is off): no password is set here. Use “Sign in with your company account” on the sign-in page.`,
  );

const LINK_INVALID = () =>
  new DomainError(AccountsError.LinkInvalid, 400, 'This link has expired, was already used or was withdrawn. Ask for a new one.');

/**
 * Accounts people run themselves: invitations (an operator or tenant admin invites an email;
 * the link sets a first password and signs them in), password resets (asked for on the login
 * page) and password changes (the account page). Links are random 256-bit tokens, stored as
 * SHA-256 only, spent by one conditional UPDATE; mail goes through the outbox after the
 * commit. Every step is audited.
 */
@Injectable()
export class AccountsService {
  private readonly log = new Logger('Accounts');

  constructor(
    private readonly dataSource: DataSource,
    private readonly users: UsersService,
    private readonly passwords: PasswordsService,
    private readonly sessions: SessionsService,
    private readonly tenants: TenantsService,
    private readonly audit: AuditService,
    private readonly mail: MailService,
    private readonly throttle: LoginThrottleService,
    private readonly mfa: MfaService,
    private readonly moduleRef: ModuleRef,
    @InjectConfig('app') private readonly app: Config<'app'>,
  ) {}

  /**
   * Whether the tenant turned passwords off for its company sign-in (the login form's rule):
   * then nothing here sets a password. The inbound module provides COMPANY_SIGN_IN above this
   * layer; looked up in the running app (no import upwards), absent in a context without it.
   */
  private async passwordsOff(tenant: Pick<Tenant, 'id' | 'operator' | 'passwordSignIn'>): Promise<boolean> {
    if (this.companySignIn === undefined) {
      try {
        this.companySignIn = this.moduleRef.get<CompanySignIn>(COMPANY_SIGN_IN, { strict: false });
      } catch {
        this.companySignIn = null;
      }
    }
    return passwordsRefused(tenant, this.companySignIn);
  }

  private companySignIn: CompanySignIn | null | undefined;

  /**
   * Invites `email` into the tenant. A new email becomes a user without a password (through
   * UsersService.create, so the identity rules of any user creation apply: an email domain
   * another tenant owns is refused there). An existing user without a password gets a new
   * link (earlier ones are withdrawn); one who has a password is a 409 (they can reset it).
   */
  async invite(meta: RequestMeta, tenantId: string, input: InviteInput): Promise<InvitationResult> {
    const email = normaliseEmail(input.email);
    const tenant = await this.tenants.findById(tenantId);
    if (await this.passwordsOff(tenant)) throw PASSWORDS_OFF(409, tenant.slug);
    let user = await this.users.findByEmail(tenantId, email);
    if (user?.passwordHash) {
      throw conflict(AccountsError.AlreadyHasPassword, `${email} already has a password here; they can use "Forgot password?" on the sign-in page`, { email });
    }
    if (!user) user = (await this.users.create(meta, tenantId, { email, firstName: input.firstName, lastName: input.lastName, role: input.role, groups: input.groups })).user;
    const brand = await this.tenants.brandFor({ id: tenantId });
    const token = randomToken(32);
    const link = `${this.app.publicUrl}/account/invitation?token=${token}`;
    const userId = user.id;
    const { id, expiresAt, mailId } = await this.dataSource.transaction(async (m) => {
      await m.query(`UPDATE account_links SET revoked_at = now() WHERE tenant_id = $1 AND user_id = $2 AND purpose = 'invitation' AND used_at IS NULL AND revoked_at IS NULL`, [tenantId, userId]);
      const made = await this.insertLink(m, { tenantId, userId, purpose: 'invitation', token, createdBy: meta.actor });
      const mailId = await this.mail.enqueue(m, { tenantId, purpose: 'invitation', to: email, content: invitationMail({ brand, tenantName: tenant.name, link, slug: tenant.slug }) });
      await this.audit.record(meta, { type: 'invitation.created', tenantId, details: { invitationId: made.id, userId, email, expiresAt: made.expiresAt, delivery: this.delivery() } }, m);
      return { ...made, mailId };
    });
    this.mail.dispatch([mailId]);
    const delivery = this.delivery();
    return { id, userId, email, expiresAt, delivery, ...(delivery === 'link' ? { link } : {}) };
  }

  /** Open invitations of the tenant (not used, not withdrawn, not expired), newest first, with their emails. */
  async openInvitations(tenantId: string): Promise<{ id: string; userId: string; email: string; expiresAt: Date; createdAt: Date; createdBy: string }[]> {
    const links = await this.dataSource.getRepository(AccountLink).find({
      where: { tenantId, purpose: 'invitation', usedAt: IsNull(), revokedAt: IsNull(), expiresAt: MoreThan(new Date()) },
      order: { createdAt: 'DESC' },
      take: 200,
    });
    const out = [];
    for (const l of links) {
      const user = await this.users.findById(tenantId, l.userId).catch(() => null);
      if (user) out.push({ id: l.id, userId: l.userId, email: user.email, expiresAt: l.expiresAt, createdAt: l.createdAt, createdBy: l.createdBy });
    }
    return out;
  }

  /** Withdraws an open invitation (404 when there is none open with this id in the tenant). */
  async revokeInvitation(meta: RequestMeta, tenantId: string, invitationId: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const [rows] = (await m.query(
        `UPDATE account_links SET revoked_at = now()
          WHERE id = $1 AND tenant_id = $2 AND purpose = 'invitation' AND used_at IS NULL AND revoked_at IS NULL
          RETURNING user_id`,
        [invitationId, tenantId],
      )) as [{ user_id: string }[], number];
      if (!rows.length) throw notFound(AccountsError.InvitationNotFound);
      await this.audit.record(meta, { type: 'invitation.revoked', tenantId, details: { invitationId, userId: rows[0].user_id } }, m);
    });
  }

  /** The owner of an unspent, unexpired link of this purpose, or the "expired or used" 400. */
  async linkOwner(token: unknown, purpose: AccountLinkPurpose): Promise<LinkOwner> {
    if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(token)) throw LINK_INVALID();
    const [row]: { id: string; tenant_id: string; user_id: string }[] = await this.dataSource.query(
      `SELECT id, tenant_id, user_id FROM account_links
        WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()`,
      [sha256Hex(token), purpose],
    );
    if (!row) throw LINK_INVALID();
    const user = await this.users.findById(row.tenant_id, row.user_id).catch(() => null);
    const tenant = await this.tenants.findById(row.tenant_id).catch(() => null);
    if (!user || !tenant || user.disabled || tenant.disabled) throw LINK_INVALID();
    // Made before the tenant turned passwords off: it sets none now.
    if (await this.passwordsOff(tenant)) throw PASSWORDS_OFF(403, tenant.slug);
    return { linkId: row.id, tenantId: row.tenant_id, tenantSlug: tenant.slug, tenantMfaPolicy: tenant.mfaPolicy, userId: row.user_id, email: user.email };
  }

  /**
   * Sets the password through an invitation or reset link, spending the link in the same
   * transaction (a link that was spent meanwhile refuses, nothing stored). Every session of
   * the user ends (OWASP Forgot Password Cheat Sheet: a reset must end existing sessions) and
   * the login lockout of the account is cleared. An invitation also starts a session here:
   * the caller sets its cookie.
   */
  async useLink(
    meta: RequestMeta,
    token: unknown,
    purpose: AccountLinkPurpose,
    password: string,
    previousSessionId: string | null = null,
  ): Promise<{ owner: LinkOwner; session: { token: string } | null; pending: { token: string; step: 'verify' | 'enrol' } | null }> {
    const owner = await this.linkOwner(token, purpose);
    // The policy refuses before the link is spent: a weak password leaves it usable.
    const passwordHash = await this.users.hashChecked(owner.tenantId, owner.userId, password);
    // An invitation signs the person in like a password does, so under a tenant's two-step
    // policy it stops where the password form does: a pending sign-in that must set a factor
    // up (or give one) before any session, hence any SSO token, exists.
    const step = purpose === 'invitation' ? await this.mfa.secondStepFor(owner.tenantMfaPolicy, owner.userId) : 'none';
    const signedIn = await this.dataSource.transaction(async (m) => {
      const [spent] = (await m.query(
        `UPDATE account_links SET used_at = now()
          WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now() RETURNING id`,
        [owner.linkId],
      )) as [unknown[], number];
      if (!spent.length) throw LINK_INVALID();
      await this.users.storePasswordHash(m, owner.tenantId, owner.userId, passwordHash);
      const sessionsEnded = await this.sessions.revokeOthers(owner.tenantId, owner.userId, null, m);
      // The lockout counter of this account (LoginThrottleService's key): a reset proves the
      // mailbox, so the failures of whoever guessed before are cleared.
      await m.query(`UPDATE login_throttles SET failures = 0, locked_until = NULL WHERE key = $1`, [LoginThrottleService.accountKey({ id: owner.tenantId }, owner.tenantSlug, owner.email)]);
      const actor = { ...meta, actor: `user:${owner.userId}` };
      const type = purpose === 'invitation' ? 'invitation.accepted' : 'password_reset.completed';
      await this.audit.record(actor, { type, tenantId: owner.tenantId, details: { userId: owner.userId, email: owner.email, linkId: owner.linkId, sessionsEnded } }, m);
      if (purpose !== 'invitation') return { session: null, pending: null };
      if (step !== 'none') {
        const pendingToken = await this.mfa.createPending(
          { userId: owner.userId, tenantId: owner.tenantId, accountKey: LoginThrottleService.accountKey({ id: owner.tenantId }, owner.tenantSlug, owner.email), purpose: step, next: null, previousSessionId },
          m,
        );
        await this.audit.record(actor, { type: 'login.second_step', tenantId: owner.tenantId, details: { userId: owner.userId, email: owner.email, step, via: 'invitation' } }, m);
        return { session: null, pending: { token: pendingToken, step } };
      }
      // As the password form does: the session this browser held (perhaps someone else's)
      // ends here, not only loses its cookie (OWASP Session Management: renew on sign-in).
      if (previousSessionId) await this.sessions.revoke(previousSessionId, m);
      const s = await this.sessions.create({ id: owner.userId, tenantId: owner.tenantId }, { ip: meta.ip, userAgent: null }, m);
      await this.audit.record(actor, { type: 'login.success', tenantId: owner.tenantId, details: { userId: owner.userId, email: owner.email, sessionId: s.id, via: 'invitation' } }, m);
      return { session: { token: s.token }, pending: null };
    });
    return { owner, ...signedIn };
  }

  /**
   * "Forgot password?": counts the request per account (organization + email as typed, known
   * or not) and per IP, then answers at once; the lookup and the mail happen afterwards, off
   * the request, so the answer and its time are the same whether the account exists or not
   * (OWASP Forgot Password Cheat Sheet: "return a consistent message … uniform response time").
   * Over a limit: the 429, also the same for known and unknown accounts.
   */
  async requestReset(meta: RequestMeta, slug: string, email: string): Promise<void> {
    const ipOk = await this.count(`reset-ip:${meta.ip ?? 'unknown'}`, RESET_IP_LIMIT);
    const accountOk = ipOk && (await this.count(`reset-acct:${slug}:${email}`, RESET_ACCOUNT_LIMIT));
    if (!ipOk || !accountOk) {
      throw Object.assign(new DomainError(AccountsError.TooManyResets, 429, 'Too many reset requests. Wait a while, then try again.'), { retryAfterSeconds: RESET_WINDOW_SECONDS });
    }
    void this.sendReset(meta, slug, email).catch((err: unknown) => this.log.error({ err, requestId: meta.requestId }, 'a password reset request could not be handled'));
  }

  /** Whether reset links can reach anyone (mail is configured, or the development outbox). */
  get resetsPossible(): boolean {
    return this.mail.canSend;
  }

  /** The account page's change: the current password first; sessions but the current one end. */
  async changePassword(meta: RequestMeta, who: { tenantId: string; userId: string; sessionId: string }, current: string, next: string): Promise<void> {
    const user = await this.users.findById(who.tenantId, who.userId);
    // The current password is a password guess like any other: it counts on the sign-in
    // form's counters (the account's failures and lockout, the IP's limits), else a stolen
    // session could try passwords here without limit (OWASP Authentication Cheat Sheet,
    // "Change A User's Password" and "Account Lockout").
    const accountKey = LoginThrottleService.accountKey({ id: who.tenantId }, '', user.email);
    const ipKey = LoginThrottleService.ipKey(meta.ip);
    const admission = await this.throttle.reserve(accountKey, ipKey);
    if (!admission.admitted) {
      const retryAfterSeconds = admission.refusal === 'account' ? await this.throttle.lockedForSeconds(accountKey) : admission.retryAfterSeconds;
      await this.audit.record(meta, { type: 'password_change.failure', tenantId: who.tenantId, details: { userId: who.userId, reason: admission.refusal === 'account' ? 'locked' : 'throttled' } });
      throw tooManyGuesses(retryAfterSeconds);
    }
    const withHash = await this.users.findByEmail(who.tenantId, user.email);
    const client = this.throttle.hashClient(accountKey, ipKey);
    let ok: boolean;
    try {
      ok = withHash?.passwordHash ? await this.passwords.verify(withHash.passwordHash, current, client) : await this.passwords.verifyDummy(current, client);
    } catch (e) {
      await this.throttle.release(accountKey, ipKey); // not verified (hash line full): nothing to count
      throw e;
    }
    if (!ok) {
      const locked = await this.dataSource.transaction(async (m) => {
        const settled = await this.throttle.settleFailure(accountKey, m);
        await this.audit.record(meta, { type: 'password_change.failure', tenantId: who.tenantId, details: { userId: who.userId, reason: 'current_password_wrong' } }, m);
        if (settled.justLocked) {
          await this.audit.record(meta, { type: 'login.lockout', tenantId: who.tenantId, details: { userId: who.userId, email: user.email, failures: settled.failures, via: 'password_change' } }, m);
        }
        return settled.justLocked;
      });
      if (locked) this.log.warn({ requestId: meta.requestId }, 'account locked after repeated wrong current passwords on the account page');
      throw badRequest(AccountsError.CurrentPasswordWrong, 'The current password is not right.');
    }
    // Right, unless a racing failure locked the account meanwhile (the sign-in form's rule).
    if (!(await this.throttle.settleSuccess(accountKey, ipKey))) throw tooManyGuesses(await this.throttle.lockedForSeconds(accountKey));
    const passwordHash = await this.users.hashChecked(who.tenantId, who.userId, next);
    const brand = await this.tenants.brandFor({ id: who.tenantId });
    const mailId = await this.dataSource.transaction(async (m) => {
      await this.users.storePasswordHash(m, who.tenantId, who.userId, passwordHash);
      const sessionsEnded = await this.sessions.revokeOthers(who.tenantId, who.userId, who.sessionId, m);
      await this.audit.record(meta, { type: 'user.password_changed', tenantId: who.tenantId, details: { userId: who.userId, sessionsEnded } }, m);
      // Tell the owner (OWASP Authentication Cheat Sheet: notify on a password change), so a
      // change they did not make does not go unnoticed.
      return this.mail.enqueue(m, { tenantId: who.tenantId, purpose: 'password_changed', to: user.email, content: passwordChangedMail({ brand }) });
    });
    this.mail.dispatch([mailId]);
  }

  private async sendReset(meta: RequestMeta, slug: string, email: string): Promise<void> {
    const tenant = await this.tenants.findBySlug(slug).catch(() => null);
    const user = tenant && !tenant.disabled ? await this.users.findByEmail(tenant.id, email) : null;
    const off = tenant ? await this.passwordsOff(tenant) : false;
    if (!tenant || !user || user.disabled || off || !this.mail.canSend) {
      const reason = !tenant ? 'unknown_tenant' : !user ? 'unknown_user' : user.disabled ? 'disabled' : off ? 'password_sign_in_off' : 'mail_off';
      await this.audit.recordRefusal(meta, { type: 'password_reset.requested', tenantId: tenant?.id ?? null, details: { email, sent: false, reason } });
      return;
    }
    const brand = await this.tenants.brandFor({ id: tenant.id });
    const token = randomToken(32);
    const link = `${this.app.publicUrl}/account/reset?token=${token}`;
    const mailId = await this.dataSource.transaction(async (m) => {
      // One live reset link at a time: asking again withdraws the earlier one.
      await m.query(`UPDATE account_links SET revoked_at = now() WHERE tenant_id = $1 AND user_id = $2 AND purpose = 'password_reset' AND used_at IS NULL AND revoked_at IS NULL`, [tenant.id, user.id]);
      const made = await this.insertLink(m, { tenantId: tenant.id, userId: user.id, purpose: 'password_reset', token, createdBy: 'anonymous' });
      await this.audit.record(meta, { type: 'password_reset.requested', tenantId: tenant.id, details: { userId: user.id, email, sent: true, linkId: made.id } }, m);
      return this.mail.enqueue(m, { tenantId: tenant.id, purpose: 'password_reset', to: user.email, content: resetMail({ brand, link, slug: tenant.slug }) });
    });
    this.mail.dispatch([mailId]);
  }

  /** One request counted on `key` (LoginThrottle rows, their attempt columns); false when over `limit` in the window. */
  private async count(key: string, limit: number): Promise<boolean> {
    const fresh = `t.attempts_window_started_at <= now() - make_interval(secs => $3)`;
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO login_throttles AS t (key, failures, window_started_at, attempts, attempts_window_started_at)
       VALUES ($1, 0, now(), 1, now())
       ON CONFLICT (key) DO UPDATE SET
         attempts = CASE WHEN ${fresh} THEN 1 ELSE t.attempts + 1 END,
         attempts_window_started_at = CASE WHEN ${fresh} THEN now() ELSE t.attempts_window_started_at END
       WHERE ${fresh} OR t.attempts < $2
       RETURNING 1`,
      [key, limit, RESET_WINDOW_SECONDS],
    );
    return rows.length > 0;
  }

  private delivery(): InvitationResult['delivery'] {
    return this.mail.mode === 'smtp' ? 'email' : this.mail.mode === 'outbox' ? 'outbox' : 'link';
  }

  private async insertLink(
    m: EntityManager,
    l: { tenantId: string; userId: string; purpose: AccountLinkPurpose; token: string; createdBy: string },
  ): Promise<{ id: string; expiresAt: Date }> {
    const [row] = (await m.query(
      `INSERT INTO account_links (tenant_id, user_id, purpose, token_hash, expires_at, created_by)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6) RETURNING id, expires_at`,
      [l.tenantId, l.userId, l.purpose, sha256Hex(l.token), LINK_LIFETIME_SECONDS[l.purpose], l.createdBy.slice(0, 100)],
    )) as { id: string; expires_at: Date }[];
    return { id: row.id, expiresAt: row.expires_at };
  }
}
