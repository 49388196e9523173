import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import type { RequestMeta } from '../common/request-meta';
import { conflict, notFound } from '../common/errors';
import { isSlug, isUuid } from '../common/identifiers';
import type { Brand } from '../common/look';
import { brandOf } from './branding';
import { isUniqueViolation } from '../common/db-errors';
import { BrandingDto, brandingColumns } from './dto/branding.dto';
import { FlatAttributes, MfaPolicy, Tenant } from './tenant.entity';
import { TenantsError } from './tenants.errors';

export interface CreateTenantInput {
  slug: string;
  name: string;
  attributes?: FlatAttributes;
  disabled?: boolean;
  logoutLandingUrl?: string | null;
  branding?: BrandingDto;
  mfaPolicy?: MfaPolicy;
  passwordSignIn?: boolean;
}

export type UpdateTenantInput = Partial<Pick<Tenant, 'name' | 'attributes' | 'disabled' | 'logoutLandingUrl' | 'mfaPolicy' | 'passwordSignIn'>> & { branding?: BrandingDto };

/**
 * The platform operators' tenant has this slug, and no one else may take it: a tenant named
 * "operators" in the admin API would at best confuse, at worst be mistaken for the real one.
 * (What makes a tenant the operators' is the `operator` flag, which only the bootstrap sets.)
 */
export const OPERATOR_TENANT_SLUG = 'operators';

/** Disabling or deleting it would lock every operator out of the console at once. */
const operatorTenantProtected = () =>
  conflict(TenantsError.OperatorTenantProtected, 'the platform operators\' tenant cannot be disabled or deleted');

const slugTaken = (slug: string) =>
  conflict(TenantsError.TenantSlugTaken, `A tenant with slug "${slug}" already exists`, { slug });

/**
 * Tenants: the customers of the SaaS company. Every change writes its audit event in the
 * same transaction. Tenants are the top of the ownership tree, so their lookups are by
 * id or slug alone.
 */
@Injectable()
export class TenantsService {
  constructor(
    @InjectRepository(Tenant) private readonly repo: Repository<Tenant>,
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  private sessionsEnder?: (m: EntityManager, tenantId: string) => Promise<number>;

  /**
   * How a disabled tenant's sessions end (and are counted), in the disabling transaction:
   * registered by the sessions' owner (auth's SessionsService), which depends on this module.
   */
  endSessionsWith(ender: (m: EntityManager, tenantId: string) => Promise<number>): void {
    this.sessionsEnder = ender;
  }

  private endSessions(m: EntityManager, tenantId: string): Promise<number> {
    if (!this.sessionsEnder) throw new Error('no sessions owner registered with TenantsService (AuthModule not loaded)');
    return this.sessionsEnder(m, tenantId);
  }

  /**
   * notFound(TenantsError.TenantNotFound) unless the tenant exists, read through `m` so a caller's transaction
   * sees its own writes (and the row it is about to reference is checked in the same snapshot).
   */
  static async assertExists(m: EntityManager, tenantId: string): Promise<void> {
    if (!isUuid(tenantId) || !(await m.getRepository(Tenant).exists({ where: { id: tenantId } }))) throw notFound(TenantsError.TenantNotFound);
  }

  /** The tenant (enabled or not: callers decide what disabled means for them). */
  async findById(tenantId: string): Promise<Tenant> {
    const tenant = isUuid(tenantId) ? await this.repo.findOne({ where: { id: tenantId } }) : null;
    if (!tenant) throw notFound(TenantsError.TenantNotFound);
    return tenant;
  }

  /** The tenant with this slug (enabled or not); notFound(TenantsError.TenantNotFound) when there is none. */
  async findBySlug(slug: string): Promise<Tenant> {
    const tenant = isSlug(slug) ? await this.repo.findOne({ where: { slug } }) : null;
    if (!tenant) throw notFound(TenantsError.TenantNotFound);
    return tenant;
  }

  /**
   * The id of the tenant an admin request names by id or by slug. A UUID is taken as an id
   * as it is (slugs may not have that form; services answer the same 404 for an unknown id);
   * an unknown slug or anything else is notFound(TenantsError.TenantNotFound).
   */
  async idOf(ref: unknown): Promise<string> {
    if (isUuid(ref)) return ref.toLowerCase();
    if (typeof ref !== 'string') throw notFound(TenantsError.TenantNotFound);
    return (await this.findBySlug(ref)).id;
  }

  /**
   * The look of the tenant with this id or slug, for a page that knows its visitor's tenant;
   * null when there is no such tenant (the page is then shown in our own look).
   */
  async brandFor(tenant: { id: string } | { slug: string }): Promise<Brand | null> {
    const where = 'id' in tenant ? (isUuid(tenant.id) ? { id: tenant.id } : null) : isSlug(tenant.slug) ? { slug: tenant.slug } : null;
    const found = where ? await this.repo.findOne({ where }) : null;
    return found ? brandOf(found) : null;
  }

  /** Tenants by slug; `search` is a case-insensitive substring of the slug or the name. */
  async list(page: { limit: number; offset: number; search?: string }): Promise<{ items: Tenant[]; total: number }> {
    const qb = this.repo.createQueryBuilder('t').orderBy('t.slug', 'ASC').take(page.limit).skip(page.offset);
    if (page.search) {
      const pattern = `%${page.search.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      qb.where(`(t.slug ILIKE :pattern ESCAPE '\\' OR t.name ILIKE :pattern ESCAPE '\\')`, { pattern });
    }
    const [items, total] = await qb.getManyAndCount();
    return { items, total };
  }

  async count(): Promise<number> {
    return this.repo.count();
  }

  /** Customer tenants (not the platform operators' own). */
  countCustomers(): Promise<number> {
    return this.repo.count({ where: { operator: false } });
  }

  /** The platform operators' tenant, or null before the first operator exists. */
  findOperatorTenant(): Promise<Tenant | null> {
    return this.repo.findOne({ where: { operator: true } });
  }

  /** The operators' tenant, created (audited) when missing. Only the operator bootstrap calls this. */
  async ensureOperatorTenant(meta: RequestMeta): Promise<Tenant> {
    const existing = await this.findOperatorTenant();
    if (existing) return existing;
    return this.create(meta, { slug: OPERATOR_TENANT_SLUG, name: 'Platform operators' }, { operator: true });
  }

  async create(meta: RequestMeta, input: CreateTenantInput, internal: { operator?: boolean } = {}): Promise<Tenant> {
    if (input.slug === OPERATOR_TENANT_SLUG && !internal.operator) {
      throw conflict(TenantsError.TenantSlugReserved, `the slug "${input.slug}" is reserved`, { slug: input.slug });
    }
    try {
      return await this.dataSource.transaction(async (m) => {
        const repo = m.getRepository(Tenant);
        if (await repo.exists({ where: { slug: input.slug } })) throw slugTaken(input.slug);
        const tenant = await repo.save(
          repo.create({
            slug: input.slug,
            name: input.name,
            attributes: input.attributes ?? {},
            disabled: input.disabled ?? false,
            logoutLandingUrl: input.logoutLandingUrl ?? null,
            mfaPolicy: input.mfaPolicy ?? 'off',
            passwordSignIn: input.passwordSignIn ?? true,
            ...definedOnly(brandingColumns(input.branding)),
            operator: internal.operator === true,
          }),
        );
        await this.audit.record(
          meta,
          { type: 'tenant.created', tenantId: tenant.id, details: { slug: tenant.slug, name: tenant.name, ...(tenant.operator ? { operator: true } : {}) } },
          m,
        );
        return tenant;
      });
    } catch (e) {
      // Two concurrent creates of one slug: the loser gets the same 409 as a sequential one.
      if (isUniqueViolation(e, 'uq_tenants_slug')) throw slugTaken(input.slug);
      throw e;
    }
  }

  /**
   * Disabling a tenant ends all its sessions at once, in the same transaction. (resolve()
   * would refuse them anyway while the tenant is disabled; revoking them means re-enabling
   * the tenant does not bring them back.)
   */
  async update(meta: RequestMeta, tenantId: string, input: UpdateTenantInput): Promise<Tenant> {
    const { branding, ...rest } = input;
    const changes = definedOnly({ ...rest, ...brandingColumns(branding) });
    return this.dataSource.transaction(async (m) => {
      const repo = m.getRepository(Tenant);
      const found = await repo.findOne({ where: { id: tenantId }, lock: { mode: 'pessimistic_write' } });
      if (!found) throw notFound(TenantsError.TenantNotFound);
      if (!Object.keys(changes).length) return found;
      if (found.operator && changes.disabled === true) throw operatorTenantProtected();
      await repo.update({ id: tenantId }, changes);
      const sessionsEnded = changes.disabled === true ? await this.endSessions(m, tenantId) : undefined;
      await this.audit.record(meta, { type: 'tenant.updated', tenantId, details: { changes, sessionsEnded } }, m);
      return repo.findOneOrFail({ where: { id: tenantId } });
    });
  }

  /** Deletes the tenant and (by foreign-key cascade) its users, groups, sessions, keys and grants. */
  async remove(meta: RequestMeta, tenantId: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const found = await m.getRepository(Tenant).findOne({ where: { id: tenantId } });
      if (!found) throw notFound(TenantsError.TenantNotFound);
      if (found.operator) throw operatorTenantProtected();
      await m.getRepository(Tenant).delete({ id: tenantId });
      await this.audit.record(meta, { type: 'tenant.deleted', tenantId, details: { slug: found.slug, name: found.name } }, m);
    });
  }
}

/** The fields a PATCH actually sent (undefined means "leave as is"). */
export function definedOnly<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<T>;
}
