import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { DomainError } from '../../common/errors';
import type { Tenant } from '../../tenants/tenant.entity';
import { TenantsService } from '../../tenants/tenants.service';
import { HashQueueFull } from '../../users/hash-slots';
import { PasswordsService } from '../../users/passwords.service';
import { UsersService } from '../../users/users.service';
import { RequestMeta } from '../../common/request-meta';
import { SessionsService } from '../sessions.service';
import { GENERIC_FAILURE, LoginForm, LoginRejected } from './login-form';
import { LoginThrottleService } from './login-throttle.service';
import { AuthError } from '../auth.errors';
import { COMPANY_SIGN_IN, CompanySignIn, passwordsRefused } from '../company-sign-in';
import { MfaService, SecondStep } from '../../mfa/mfa.service';

/** Internal only: goes to the audit event and the log, never to the client. */
export type LoginFailureReason =
  | 'unknown_tenant'
  | 'unknown_user'
  | 'no_password'
  | 'disabled'
  | 'locked'
  | 'bad_password'
  | 'bad_second_factor'
  | 'password_sign_in_off';

/** What a person of a tenant that turned passwords off reads (a tenant's rule, not the account's). */
export const COMPANY_SIGN_IN_REQUIRED = 'Your organization signs you in with your company account, not a password. Use “Sign in with your company account” below.';

/** A verified login, ready to get a session. */
export interface VerifiedLogin {
  userId: string;
  tenantId: string;
  email: string;
  accountKey: string;
  /** What the sign-in still needs (the tenant's MFA policy and the user's factors). */
  secondStep?: SecondStep;
}

export interface LoginRequestMeta extends RequestMeta {
  userAgent: string | null;
}

/**
 * Password login (OWASP Authentication Cheat Sheet). Every credential failure — unknown
 * tenant, unknown email, no password set, wrong password, locked or disabled account — gets
 * the same 401 and message; only the audit event and the log know why. Every attempt the
 * throttle admits costs one argon2id verification (against a dummy hash when there is no
 * user); an attempt on a locked account costs none, known account or not, so neither the
 * answer nor its timing tells whether the account exists.
 */
/** The 429s of an attempt limit: what the log says, what the person reads, the audit label. */
const ATTEMPT_REFUSALS = {
  ip: {
    logged: 'IP over LOGIN_IP_LIMIT or LOGIN_IP_ATTEMPT_LIMIT',
    said: 'Too many sign-in attempts from your network. Wait a while and try again.',
    label: 'ip throttled',
  },
  'account-attempts': {
    logged: 'account over LOGIN_ACCOUNT_ATTEMPT_LIMIT',
    said: 'Too many sign-in attempts for this account. Wait a while and try again.',
    label: 'account throttled',
  },
} as const;

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
    private readonly mfa: MfaService,
    // From the inbound module, handed over by AppModule (LoginModule.withBiLogout); absent: passwords always allowed.
    @Optional() @Inject(COMPANY_SIGN_IN) private readonly companySignIn?: CompanySignIn,
  ) {}

  /**
   * True when the tenant turned passwords off and has its own identity provider. Never for the
   * operators' tenant: a broken provider must not lock the operators out of the console.
   */
  passwordsRefused(tenant: Tenant | null): Promise<boolean> {
    return passwordsRefused(tenant, this.companySignIn);
  }

  /** The tenant with this slug, or null (enabled or not). */
  async tenantBySlug(slug: string): Promise<Tenant | null> {
    try {
      return await this.tenants.findBySlug(slug);
    } catch (e) {
      if (e instanceof DomainError && e.status === 404) return null;
      throw e;
    }
  }

  /**
   * Checks the credentials; throws LoginRejected (401 generic, or 429 for a throttled IP, an
   * account over its attempts, or a full hash line / a client at its share of it). The attempt is counted (reserved) before the password is verified, so a
   * locked account or an IP over its limit costs no verification at all — whether the account
   * exists or not — and a burst cannot verify more than the limits allow (LoginThrottleService).
   */
  async verify(form: LoginForm, meta: LoginRequestMeta): Promise<VerifiedLogin> {
    const tenant = await this.tenantBySlug(form.tenant);
    // The tenant's rule, the same for every email of it: refused before any password work (a
    // right password too), and the answer says nothing about whether the account exists.
    if (await this.passwordsRefused(tenant)) return this.refusePasswords(tenant!, form, meta);
    const accountKey = LoginThrottleService.accountKey(tenant, form.tenant, form.email);
    const ipKey = LoginThrottleService.ipKey(meta.ip);
    const [user, admission] = await Promise.all([
      tenant ? this.users.findByEmail(tenant.id, form.email) : Promise.resolve(null),
      this.throttle.reserve(accountKey, ipKey),
    ]);

    // Over a per-IP limit: refused before any password work. The answer differs from a
    // credential failure, but it depends on the IP only, so it says nothing about the account.
    // Too many attempts of any outcome on the account: unknown accounts are counted the same
    // way, so that answer does not tell whether the account exists either.
    if (!admission.admitted && admission.refusal !== 'account') {
      const { logged, said, label } = ATTEMPT_REFUSALS[admission.refusal];
      this.log.warn({ requestId: meta.requestId, ip: meta.ip, tenant: form.tenant }, `login refused: ${logged}`);
      throw new LoginRejected(AuthError.TooManyAttempts, 429, said, {}, admission.retryAfterSeconds, label);
    }
    const f = { tenant, userId: user?.id ?? null, form, accountKey, meta };
    // Locked (or its remaining attempts all in flight): refused without verifying, known
    // account or not, with the answer every credential failure gets.
    if (!admission.admitted) return this.fail({ ...f, reason: 'locked', verified: false });

    // Exactly one argon2id verification on every admitted path (timing must not tell the cases apart).
    let passwordOk: boolean;
    try {
      const hashOf = user?.passwordHash;
      // Queued fairly: this IP's line takes turns with other IPs', within its caps.
      const client = this.throttle.hashClient(accountKey, ipKey);
      passwordOk = hashOf ? await this.passwords.verify(hashOf, form.password, client) : await this.passwords.verifyDummy(form.password, client);
    } catch (e) {
      // Not verified (HashQueueFull: a 429 at once, not a wait behind the burst or the
      // client's own requests): no failure to count (the attempt itself stays counted).
      await this.throttle.release(accountKey, ipKey);
      if (e instanceof HashQueueFull) {
        throw new LoginRejected(AuthError.TooManyAttempts, 429, 'The service is busy. Try again in a moment.', {}, e.retryAfterSeconds, 'hash queue full');
      }
      throw e;
    }

    let reason: LoginFailureReason | null = null;
    if (!tenant) reason = 'unknown_tenant';
    else if (!user) reason = 'unknown_user';
    else if (tenant.disabled || user.disabled) reason = 'disabled';
    else if (!user.passwordHash) reason = 'no_password';
    else if (!passwordOk) reason = 'bad_password';
    let secondStep: SecondStep = 'none';
    if (reason === null && tenant && user) {
      secondStep = await this.mfa.secondStepFor(tenant.mfaPolicy, user.id);
      // A right password still fails when a racing failure locked the account meanwhile.
      if (!(await this.throttle.settleSuccess(accountKey, ipKey, { secondStepFollows: secondStep === 'verify' }))) reason = 'locked';
    }

    if (reason === null && tenant && user) {
      return { userId: user.id, tenantId: tenant.id, email: user.email, accountKey, secondStep };
    }
    return this.fail({ ...f, reason: reason!, verified: true });
  }

  private async refusePasswords(tenant: Tenant, form: LoginForm, meta: LoginRequestMeta): Promise<never> {
    const user = await this.users.findByEmail(tenant.id, form.email);
    const who = user ? { userId: user.id } : {};
    await this.audit.record(meta, { type: 'login.failure', tenantId: tenant.id, details: { reason: 'password_sign_in_off', email: form.email, tenant: form.tenant, ...who } });
    this.log.log({ requestId: meta.requestId, reason: 'password_sign_in_off', tenant: form.tenant }, 'login failed');
    throw new LoginRejected(AuthError.CompanySignInRequired, 403, COMPANY_SIGN_IN_REQUIRED, {}, undefined, 'login failed: password_sign_in_off');
  }

  /**
   * Starts the session of a verified login, in one transaction with its audit event: the
   * session the browser arrived with (if any) is revoked first (session fixation, OWASP
   * Session Management Cheat Sheet: "renew the session id after any privilege level change").
   */
  async startSession(
    login: Pick<VerifiedLogin, 'userId' | 'tenantId' | 'email'>,
    previousCookie: unknown,
    meta: LoginRequestMeta,
    extra: { details?: Record<string, unknown>; manager?: (m: EntityManager) => Promise<void> } = {},
  ): Promise<{ token: string; expiresAt: Date }> {
    const previousId = SessionsService.idFromCookie(previousCookie);
    return this.dataSource.transaction(async (m) => {
      // E.g. the second step's pending sign-in, ended in the same transaction.
      if (extra.manager) await extra.manager(m);
      if (previousId) await this.sessions.revoke(previousId, m);
      const session = await this.sessions.create(
        { id: login.userId, tenantId: login.tenantId },
        { ip: meta.ip, userAgent: meta.userAgent },
        m,
      );
      await this.audit.record(
        { ...meta, actor: `user:${login.userId}` },
        { type: 'login.success', tenantId: login.tenantId, details: { userId: login.userId, email: login.email, sessionId: session.id, ...extra.details } },
        m,
      );
      return { token: session.token, expiresAt: session.expiresAt };
    });
  }

  /**
   * Writes the failure's audit events (plus `login.lockout` for the one that locked) and
   * throws the generic 401. A verified failure kept its reservation as the failure count;
   * settling it may lock the account.
   */
  private async fail(f: {
    reason: LoginFailureReason;
    /** The password was verified (the attempt was admitted). */
    verified: boolean;
    tenant: Tenant | null;
    userId: string | null;
    form: LoginForm;
    accountKey: string;
    meta: LoginRequestMeta;
  }): Promise<never> {
    const locked = await this.dataSource.transaction(async (m) => {
      const settled = f.verified ? await this.throttle.settleFailure(f.accountKey, m) : { justLocked: false, failures: 0 };
      const who = f.userId ? { userId: f.userId } : {};
      await this.audit.record(f.meta, { type: 'login.failure', tenantId: f.tenant?.id ?? null, details: { reason: f.reason, email: f.form.email, tenant: f.form.tenant, ...who } }, m);
      if (settled.justLocked) {
        await this.audit.record(
          f.meta,
          { type: 'login.lockout', tenantId: f.tenant?.id ?? null, details: { email: f.form.email, tenant: f.form.tenant, failures: settled.failures, ...who } },
          m,
        );
      }
      return settled.justLocked;
    });
    this.log.log({ requestId: f.meta.requestId, reason: f.reason, tenant: f.form.tenant }, 'login failed');
    if (locked) this.log.warn({ requestId: f.meta.requestId, tenant: f.form.tenant }, 'account locked after repeated login failures');
    throw new LoginRejected(AuthError.LoginFailed, 401, GENERIC_FAILURE, {}, undefined, `login failed: ${f.reason}`);
  }
}
