import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { DomainError } from '../../common/errors';
import { sha256Hex } from '../../crypto/tokens';
import { Tenant } from '../../tenants/tenant.entity';
import { TenantsService } from '../../tenants/tenants.service';
import { PasswordsService } from '../../users/passwords.service';
import { UsersService } from '../../users/users.service';
import { RequestMeta } from '../auth.types';
import { SessionsService } from '../sessions.service';
import { GENERIC_FAILURE, LoginForm, LoginRejected } from './login-form';
import { LoginThrottleService } from './login-throttle.service';

/** Internal only: goes to the audit event and the log, never to the client. */
export type LoginFailureReason = 'unknown_tenant' | 'unknown_user' | 'no_password' | 'disabled' | 'locked' | 'bad_password';

/** A verified login, ready to get a session. */
export interface VerifiedLogin {
  userId: string;
  tenantId: string;
  email: string;
  accountKey: string;
}

export interface LoginRequestMeta extends RequestMeta {
  userAgent: string | null;
}

/**
 * Password login (OWASP Authentication Cheat Sheet). Every credential failure — unknown
 * tenant, unknown email, no password set, wrong password, locked or disabled account — costs
 * one argon2id verification (against a dummy hash when there is no user) and gets the same
 * 401 and message; only the audit event and the log know why.
 */
@Injectable()
export class LoginService {
  private readonly log = new Logger(LoginService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly tenants: TenantsService,
    private readonly users: UsersService,
    private readonly passwords: PasswordsService,
    private readonly throttle: LoginThrottleService,
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
  ) {}

  /** The tenant with this slug, or null (enabled or not). */
  async tenantBySlug(slug: string): Promise<Tenant | null> {
    try {
      return await this.tenants.findBySlug(slug);
    } catch (e) {
      if (e instanceof DomainError && e.status === 404) return null;
      throw e;
    }
  }

  /** Checks the credentials; throws LoginRejected (401 generic, or 429 for a throttled IP). */
  async verify(form: LoginForm, meta: LoginRequestMeta): Promise<VerifiedLogin> {
    const tenant = await this.tenantBySlug(form.tenant);
    const accountKey = LoginThrottleService.accountKey(tenant, form.tenant, form.email);
    const ipKey = LoginThrottleService.ipKey(meta.ip);
    const [user, status] = await Promise.all([
      tenant ? this.users.findByEmail(tenant.id, form.email) : Promise.resolve(null),
      this.throttle.status(accountKey, ipKey),
    ]);

    // Over the per-IP limit: refused before any password work. The answer differs from a
    // credential failure, but it depends on the IP only, so it says nothing about the account.
    if (status.ipRetryAfter !== null) {
      this.log.warn({ requestId: meta.requestId, ip: meta.ip }, 'login refused: IP over LOGIN_IP_LIMIT');
      throw new LoginRejected(
        'too_many_attempts',
        429,
        'Too many sign-in attempts from your network. Wait a while and try again.',
        {},
        status.ipRetryAfter,
        'ip throttled',
      );
    }

    // Exactly one argon2id verification on every path (timing must not tell the cases apart).
    const hashOf = user?.passwordHash;
    const passwordOk = hashOf ? await this.passwords.verify(hashOf, form.password) : await this.passwords.verifyDummy(form.password);

    let reason: LoginFailureReason | null = null;
    if (!tenant) reason = 'unknown_tenant';
    else if (!user) reason = 'unknown_user';
    else if (tenant.disabled || user.disabled) reason = 'disabled';
    else if (status.accountLocked) reason = 'locked';
    else if (!user.passwordHash) reason = 'no_password';
    else if (!passwordOk) reason = 'bad_password';

    if (reason === null && tenant && user) {
      return { userId: user.id, tenantId: tenant.id, email: user.email, accountKey };
    }
    await this.recordFailure({ reason: reason!, locked: status.accountLocked, tenant, userId: user?.id ?? null, form, accountKey, ipKey, meta });
    throw new LoginRejected('login_failed', 401, GENERIC_FAILURE, {}, undefined, `login failed: ${reason}`);
  }

  /**
   * Starts the session of a verified login, in one transaction with its audit event: the
   * session the browser arrived with (if any) is revoked first (session fixation, OWASP
   * Session Management Cheat Sheet: "renew the session id after any privilege level change").
   */
  async startSession(login: VerifiedLogin, previousToken: string | undefined, meta: LoginRequestMeta): Promise<{ token: string; expiresAt: Date }> {
    return this.dataSource.transaction(async (m) => {
      if (previousToken && previousToken.length <= 100) await this.sessions.revoke(sha256Hex(previousToken), m);
      await this.throttle.clearAccount(login.accountKey, m);
      const session = await this.sessions.create(
        { id: login.userId, tenantId: login.tenantId },
        { ip: meta.ip, userAgent: meta.userAgent },
        m,
      );
      await this.audit.record(
        { ...meta, actor: `user:${login.userId}` },
        { type: 'login.success', tenantId: login.tenantId, details: { userId: login.userId, email: login.email, sessionId: session.id } },
        m,
      );
      return { token: session.token, expiresAt: session.expiresAt };
    });
  }

  /** Counts the failure and writes its audit events (plus `login.lockout` for the one that locked). */
  private async recordFailure(f: {
    reason: LoginFailureReason;
    /** The account was locked when the attempt began. */
    locked: boolean;
    tenant: Tenant | null;
    userId: string | null;
    form: LoginForm;
    accountKey: string;
    ipKey: string;
    meta: LoginRequestMeta;
  }): Promise<void> {
    let reason = f.reason;
    let lockedNow = false;
    await this.dataSource.transaction(async (m) => {
      // An attempt on a locked account does not move the account counter (the lock would
      // otherwise be renewed by whoever keeps guessing); the IP counter still counts it.
      const counted = await this.throttle.recordFailure(f.locked ? null : f.accountKey, f.ipKey, m);
      // A wrong password that lost the race with the failure that locked the account: it was,
      // in effect, an attempt on a locked account — label it as the sequential case would be.
      if (!f.locked && !counted.counted && (reason === 'bad_password' || reason === 'no_password')) reason = 'locked';
      const details = { reason, email: f.form.email, tenant: f.form.tenant, ...(f.userId ? { userId: f.userId } : {}) };
      await this.audit.record(f.meta, { type: 'login.failure', tenantId: f.tenant?.id ?? null, details }, m);
      lockedNow = counted.justLocked;
      if (counted.justLocked) {
        await this.audit.record(
          f.meta,
          { type: 'login.lockout', tenantId: f.tenant?.id ?? null, details: { email: f.form.email, tenant: f.form.tenant, failures: counted.failures, ...(f.userId ? { userId: f.userId } : {}) } },
          m,
        );
      }
    });
    this.log.log({ requestId: f.meta.requestId, reason, tenant: f.form.tenant }, 'login failed');
    if (lockedNow) this.log.warn({ requestId: f.meta.requestId, tenant: f.form.tenant }, 'account locked after repeated login failures');
  }
}
