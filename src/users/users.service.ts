import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import type { RequestMeta } from '../common/request-meta';
import { badRequest, conflict, notFound } from '../common/errors';
import { IdentitiesService } from '../identities/identities.service';
import { isUniqueViolation } from '../common/db-errors';
import { isUuid, normaliseEmail } from '../common/identifiers';
import type { FlatAttributes } from '../tenants/tenant.entity';
import { TenantsService, definedOnly } from '../tenants/tenants.service';
import { GroupMember } from './group-member.entity';
import { Group } from './group.entity';
import { PasswordPolicy } from './password-policy';
import { PasswordsService } from './passwords.service';
import { User, UserRole } from './user.entity';
import { TENANT_USER_EMAILS_SQL, USER_TENANTS_IN_DOMAIN_SQL } from './users.sql';
import { UsersError } from './users.errors';

export interface CreateUserInput {
  email: string;
  firstName?: string;
  lastName?: string;
  password?: string;
  attributes?: FlatAttributes;
  /** Names of existing groups of the tenant. */
  groups?: string[];
  role?: UserRole;
}

export type UpdateUserInput = Partial<Pick<User, 'firstName' | 'lastName' | 'attributes' | 'disabled' | 'role'>>;

export interface UserListQuery {
  limit: number;
  offset: number;
  /** Case-insensitive substring of the email. */
  email?: string;
}

const emailTaken = (email: string) =>
  conflict(UsersError.UserEmailTaken, `A user with email ${email} already exists in this tenant`, { email });

/** The tenant's users. Every query carries the tenant id; every change writes its audit event in its transaction. */
@Injectable()
export class UsersService {
  constructor(
    @InjectRepository(User) private readonly repo: Repository<User>,
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly passwords: PasswordsService,
    private readonly identities: IdentitiesService,
    private readonly policy: PasswordPolicy,
  ) {
    identities.provideSources({ tenantUserEmails: TENANT_USER_EMAILS_SQL, userTenantsInDomain: USER_TENANTS_IN_DOMAIN_SQL });
  }

  private sessionsEnder?: (m: EntityManager, tenantId: string, userId: string) => Promise<number>;

  /**
   * How a user's sessions end (and are counted) when the user is disabled or gets a new
   * password, in that transaction: registered by the sessions' owner (auth's SessionsService),
   * which depends on this module.
   */
  endSessionsWith(ender: (m: EntityManager, tenantId: string, userId: string) => Promise<number>): void {
    this.sessionsEnder = ender;
  }

  private endSessions(m: EntityManager, tenantId: string, userId: string): Promise<number> {
    if (!this.sessionsEnder) throw new Error('no sessions owner registered with UsersService (AuthModule not loaded)');
    return this.sessionsEnder(m, tenantId, userId);
  }

  /** The user, or notFound(UsersError.UserNotFound) (also for a user of another tenant). */
  async findById(tenantId: string, userId: string): Promise<User> {
    const user = isUuid(tenantId) && isUuid(userId) ? await this.repo.findOne({ where: { id: userId, tenantId } }) : null;
    if (!user) throw notFound(UsersError.UserNotFound);
    return user;
  }

  /**
   * Emails by user id, for many ids in one query (the audit page names its actors); ids that
   * are not UUIDs or name no user (deleted since) are simply absent.
   */
  async emailsOf(ids: string[]): Promise<Map<string, string>> {
    const wanted = [...new Set(ids.filter(isUuid))];
    if (!wanted.length) return new Map();
    const rows = await this.repo.find({ select: { id: true, email: true }, where: { id: In(wanted) } });
    return new Map(rows.map((u) => [u.id, u.email]));
  }

  /**
   * For the login: the user with this email in the tenant, WITH its password hash (null
   * when there is none). Enabled or not: the caller checks `disabled`.
   */
  async findByEmail(tenantId: string, email: string): Promise<User | null> {
    if (!isUuid(tenantId) || typeof email !== 'string') return null;
    return this.repo
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('u.tenant_id = :tenantId AND u.email = :email', { tenantId, email: normaliseEmail(email) })
      .getOne();
  }

  /** The user's group names, sorted (what the SSO flow maps to the BI tool's groups). */
  async groupNamesOf(tenantId: string, userId: string): Promise<string[]> {
    const rows: { name: string }[] = await this.dataSource.query(
      `SELECT g.name FROM group_members gm
         JOIN groups g ON g.id = gm.group_id AND g.tenant_id = gm.tenant_id
        WHERE gm.tenant_id = $1 AND gm.user_id = $2
        ORDER BY g.name`,
      [tenantId, userId],
    );
    return rows.map((r) => r.name);
  }

  /** How many users there are (all tenants: the operator console's overview). */
  countAll(): Promise<number> {
    return this.repo.count();
  }

  async list(tenantId: string, q: UserListQuery): Promise<{ items: User[]; total: number }> {
    await TenantsService.assertExists(this.dataSource.manager, tenantId);
    const qb = this.repo
      .createQueryBuilder('u')
      .where('u.tenant_id = :tenantId', { tenantId })
      .orderBy('u.email', 'ASC')
      .addOrderBy('u.id', 'ASC')
      .take(q.limit)
      .skip(q.offset);
    if (q.email) {
      qb.andWhere(`u.email ILIKE :pattern ESCAPE '\\'`, { pattern: `%${escapeLike(normaliseEmail(q.email))}%` });
    }
    const [items, total] = await qb.getManyAndCount();
    return { items, total };
  }

  /**
   * Creates the user and its memberships in one transaction: an unknown group name, a
   * taken email or a missing tenant leaves nothing behind.
   */
  async create(meta: RequestMeta, tenantId: string, input: CreateUserInput): Promise<{ user: User; groups: string[] }> {
    const email = normaliseEmail(input.email);
    const groupNames = [...new Set(input.groups ?? [])].sort();
    if (input.password !== undefined) await this.policy.check(input.password, { email, firstName: input.firstName, lastName: input.lastName });
    // Hashed before the transaction opens: argon2 takes a while and must not hold a connection.
    const passwordHash = input.password !== undefined ? await this.passwords.hash(input.password) : null;
    try {
      return await this.dataSource.transaction(async (m) => {
        await TenantsService.assertExists(m, tenantId);
        // README "BI identities": an email in a domain given to another tenant is refused;
        // whether the email exists in another tenant is never told (nor checked) here.
        await this.identities.assertEmailAllowed(m, tenantId, email);
        if (await m.getRepository(User).exists({ where: { tenantId, email } })) throw emailTaken(email);
        const groups = groupNames.length
          ? await m.getRepository(Group).find({ where: { tenantId, name: In(groupNames) } })
          : [];
        const missing = groupNames.filter((n) => !groups.some((g) => g.name === n));
        if (missing.length) {
          throw badRequest(UsersError.UnknownGroups, `This tenant has no group ${missing.map((n) => JSON.stringify(n)).join(', ')}`, {
            groups: missing,
          });
        }
        const inserted = await m.getRepository(User).insert({
          tenantId,
          email,
          firstName: input.firstName ?? '',
          lastName: input.lastName ?? '',
          passwordHash,
          attributes: input.attributes ?? {},
          role: input.role ?? 'member',
        });
        const userId = inserted.identifiers[0].id as string;
        // Claimed on the BI instances the tenant uses now, so a twin created later elsewhere
        // can never deny this user (silently a no-op where another tenant owns it).
        await this.identities.claimForNewUser(m, tenantId, email);
        if (groups.length) {
          await m.getRepository(GroupMember).insert(groups.map((g) => ({ groupId: g.id, userId, tenantId })));
        }
        await this.audit.record(
          meta,
          { type: 'user.created', tenantId, details: { userId, email, groups: groupNames, passwordSet: passwordHash !== null, role: input.role ?? 'member' } },
          m,
        );
        const user = await m.getRepository(User).findOneOrFail({ where: { id: userId, tenantId } });
        return { user, groups: groupNames };
      });
    } catch (e) {
      if (isUniqueViolation(e, 'uq_users_tenant_email')) throw emailTaken(email);
      throw e;
    }
  }

  /** Disabling a user ends their sessions at once, in the same transaction. */
  async update(meta: RequestMeta, tenantId: string, userId: string, input: UpdateUserInput): Promise<User> {
    const changes = definedOnly(input);
    return this.dataSource.transaction(async (m) => {
      const repo = m.getRepository(User);
      const found = await repo.findOne({ where: { id: userId, tenantId }, lock: { mode: 'pessimistic_write' } });
      if (!found) throw notFound(UsersError.UserNotFound);
      if (!Object.keys(changes).length) return found;
      await repo.update({ id: userId, tenantId }, changes);
      const sessionsEnded = changes.disabled === true ? await this.endSessions(m, tenantId, userId) : undefined;
      await this.audit.record(meta, { type: 'user.updated', tenantId, details: { userId, email: found.email, changes, sessionsEnded } }, m);
      return repo.findOneOrFail({ where: { id: userId, tenantId } });
    });
  }

  /**
   * Sets (or replaces) the password. The user's sessions end too: an operator resetting a
   * password is often reacting to a compromised account (OWASP session management: renew
   * sessions on credential change).
   */
  async setPassword(meta: RequestMeta, tenantId: string, userId: string, password: string): Promise<void> {
    const owner = await this.repo.findOne({ where: { id: userId, tenantId } });
    if (!owner) throw notFound(UsersError.UserNotFound);
    await this.policy.check(password, owner);
    const passwordHash = await this.passwords.hash(password);
    await this.dataSource.transaction(async (m) => {
      const result = await m.getRepository(User).update({ id: userId, tenantId }, { passwordHash });
      if (!result.affected) throw notFound(UsersError.UserNotFound);
      const sessionsEnded = await this.endSessions(m, tenantId, userId);
      await this.audit.record(meta, { type: 'user.password_set', tenantId, details: { userId, sessionsEnded } }, m);
    });
  }

  /**
   * A password a person set themselves (an invitation, a reset, the account page): checked by
   * the same policy as every other password, hashed outside any transaction. The caller
   * stores it with storePasswordHash in its own transaction (with the link it spends, the
   * sessions it ends and its audit event), so a refusal leaves the link unspent.
   */
  async hashChecked(tenantId: string, userId: string, password: string): Promise<string> {
    const owner = await this.findById(tenantId, userId);
    await this.policy.check(password, owner);
    return this.passwords.hash(password);
  }

  /** Stores a hash from hashChecked in `m`'s transaction (no audit, no session ends: the caller's). */
  async storePasswordHash(m: EntityManager, tenantId: string, userId: string, passwordHash: string): Promise<void> {
    const result = await m.getRepository(User).update({ id: userId, tenantId }, { passwordHash });
    if (!result.affected) throw notFound(UsersError.UserNotFound);
  }

  /** Deletes the user; memberships and sessions go with it (foreign-key cascade). */
  async remove(meta: RequestMeta, tenantId: string, userId: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const found = await m.getRepository(User).findOne({ where: { id: userId, tenantId } });
      if (!found) throw notFound(UsersError.UserNotFound);
      await m.getRepository(User).delete({ id: userId, tenantId });
      await this.audit.record(meta, { type: 'user.deleted', tenantId, details: { userId, email: found.email } }, m);
    });
  }
}

/** Escapes LIKE wildcards so a search for "a_b" matches only "a_b". */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
