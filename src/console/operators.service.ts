import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { SessionContext, AdminPrincipal } from '../auth/auth.types';
import type { RequestMeta } from '../common/request-meta';
import { DomainError } from '../common/errors';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { TenantsService } from '../tenants/tenants.service';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';

/** Who is using the console, and the admin-API scope their actions run under. */
export interface ConsolePrincipal {
  operator: boolean;
  /** The same scope object an API key gets: tenantId null for operators, the own tenant for a tenant admin. */
  scope: AdminPrincipal;
  session: SessionContext;
}

const SYSTEM: RequestMeta = { actor: 'system', ip: null, requestId: null };

/**
 * Platform operators are the users of the one tenant flagged `operator`; tenant admins are
 * users with role `tenant_admin`. This service makes operators (start-up bootstrap and
 * `npm run create-operator`) and tells who may use the console.
 */
@Injectable()
export class OperatorsService {
  constructor(
    private readonly tenants: TenantsService,
    private readonly users: UsersService,
  ) {}

  /** A new operator (the operators' tenant is created on first use). Audited. */
  async createOperator(meta: RequestMeta, email: string, password: string): Promise<User> {
    const tenant = await this.ensureOperatorTenant(meta);
    const { user } = await this.users.create(meta, tenant.id, { email, password });
    return user;
  }

  /** The bootstrap operator exists afterwards; an existing one keeps its password (it may have been changed since). */
  async ensureOperator(meta: RequestMeta, email: string, password: string): Promise<'created' | 'existing'> {
    const tenant = await this.ensureOperatorTenant(meta);
    if (await this.users.findByEmail(tenant.id, email)) return 'existing';
    try {
      await this.users.create(meta, tenant.id, { email, password });
      return 'created';
    } catch (e) {
      // Another instance starting at the same moment made it.
      if (e instanceof DomainError && e.code === 'user_email_taken') return 'existing';
      throw e;
    }
  }

  /** The console principal for a session, or null when the user may not use the console. */
  async principalFor(session: SessionContext): Promise<ConsolePrincipal | null> {
    const [tenant, user] = await Promise.all([
      this.tenants.findById(session.tenant.id),
      this.users.findById(session.tenant.id, session.user.id),
    ]);
    const keyId = `user:${session.user.id}`;
    if (tenant.operator) return { operator: true, scope: { keyId, tenantId: null }, session };
    if (user.role === 'tenant_admin') return { operator: false, scope: { keyId, tenantId: tenant.id }, session };
    return null;
  }

  private async ensureOperatorTenant(meta: RequestMeta) {
    try {
      return await this.tenants.ensureOperatorTenant(meta);
    } catch (e) {
      // Lost a race with another instance creating it: use theirs.
      const existing = await this.tenants.findOperatorTenant();
      if (existing) return existing;
      throw e;
    }
  }
}

/** BOOTSTRAP_OPERATOR_EMAIL + BOOTSTRAP_OPERATOR_PASSWORD: the first operator exists once the service is up. */
@Injectable()
export class OperatorBootstrap implements OnApplicationBootstrap {
  private readonly log = new Logger('OperatorBootstrap');

  constructor(
    private readonly operators: OperatorsService,
    @InjectConfig('secrets') private readonly secrets: Config<'secrets'>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const op = this.secrets.bootstrapOperator;
    if (!op) return;
    let outcome: 'created' | 'existing';
    try {
      outcome = await this.operators.ensureOperator(SYSTEM, op.email, op.password);
    } catch (e) {
      // The password rule of every user applies (users/password-policy.ts): name the variable.
      if (e instanceof DomainError && e.code === 'weak_password') throw new Error(`BOOTSTRAP_OPERATOR_PASSWORD: ${e.message}`);
      throw e;
    }
    if (outcome === 'created') this.log.log(`bootstrap operator ${op.email} created`);
  }
}
