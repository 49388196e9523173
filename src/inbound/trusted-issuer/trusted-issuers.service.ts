import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { isUniqueViolation } from '../../common/db-errors';
import { badRequest, conflict, notFound } from '../../common/errors';
import type { RequestMeta } from '../../common/request-meta';
import { TenantsService } from '../../tenants/tenants.service';
import { issuerUrlProblem } from '../oidc-issuers';
import type { CreateTrustedIssuerDto, UpdateTrustedIssuerDto } from './dto/trusted-issuer.dto';
import { TrustedIssuer } from './trusted-issuer.entity';

export enum TrustedIssuerError {
  NotFound = 'trusted_issuer_not_found',
  Taken = 'trusted_issuer_taken',
  InvalidIssuer = 'invalid_issuer',
}

const UNIQUE = 'uq_trusted_issuers_issuer_audience';

/**
 * A tenant's trusted issuers (admin API, global key only: a trusted issuer's tokens sign in as
 * any of the tenant's users). Every change writes its audit event in its transaction.
 */
@Injectable()
export class TrustedIssuersService {
  private readonly production: boolean;

  constructor(
    private readonly dataSource: DataSource,
    private readonly tenants: TenantsService,
    private readonly audit: AuditService,
    @InjectConfig('app') app: Config<'app'>,
  ) {
    this.production = app.nodeEnv === 'production';
  }

  async list(tenantId: string): Promise<TrustedIssuer[]> {
    await this.tenants.findById(tenantId);
    return this.dataSource.getRepository(TrustedIssuer).find({ where: { tenantId }, order: { createdAt: 'ASC' } });
  }

  async get(tenantId: string, id: string): Promise<TrustedIssuer> {
    await this.tenants.findById(tenantId);
    const row = await this.dataSource.getRepository(TrustedIssuer).findOneBy({ id, tenantId });
    if (!row) throw notFound(TrustedIssuerError.NotFound);
    return row;
  }

  async create(meta: RequestMeta, tenantId: string, input: CreateTrustedIssuerDto): Promise<TrustedIssuer> {
    await this.tenants.findById(tenantId);
    this.checkIssuer(input.issuer);
    return this.write(async (m) => {
      const row = m.getRepository(TrustedIssuer).create({ ...input, tenantId, algorithms: input.algorithms ? [...new Set(input.algorithms)] : undefined });
      const saved = await m.getRepository(TrustedIssuer).save(row);
      await this.audit.record(meta, { type: 'trusted_issuer.created', tenantId, details: { id: saved.id, issuer: saved.issuer, audience: saved.audience } }, m);
      return saved;
    });
  }

  async update(meta: RequestMeta, tenantId: string, id: string, input: UpdateTrustedIssuerDto): Promise<TrustedIssuer> {
    const row = await this.get(tenantId, id);
    if (input.issuer !== undefined) this.checkIssuer(input.issuer);
    // Only the fields sent (a DTO instance has every property, undefined when not sent).
    const changes = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as UpdateTrustedIssuerDto;
    return this.write(async (m) => {
      const next = { ...row, ...changes, algorithms: changes.algorithms ? [...new Set(changes.algorithms)] : row.algorithms };
      const saved = await m.getRepository(TrustedIssuer).save(next);
      await this.audit.record(meta, { type: 'trusted_issuer.updated', tenantId, details: { id, ...changes } }, m);
      return saved;
    });
  }

  async remove(meta: RequestMeta, tenantId: string, id: string): Promise<void> {
    const row = await this.get(tenantId, id);
    await this.dataSource.transaction(async (m) => {
      await m.getRepository(TrustedIssuer).delete({ id: row.id, tenantId });
      await this.audit.record(meta, { type: 'trusted_issuer.deleted', tenantId, details: { id, issuer: row.issuer, audience: row.audience } }, m);
    });
  }

  private checkIssuer(issuer: string): void {
    const problem = issuerUrlProblem(issuer, this.production);
    if (problem) throw badRequest(TrustedIssuerError.InvalidIssuer, `issuer ${problem}`);
  }

  private async write<T>(work: (m: import('typeorm').EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.dataSource.transaction(work);
    } catch (e) {
      if (isUniqueViolation(e, UNIQUE)) {
        throw conflict(TrustedIssuerError.Taken, 'This issuer and audience are already trusted (by this or another organization): a token must name one organization');
      }
      throw e;
    }
  }
}

/** A trusted_issuers row (snake_case columns) as the entity (the hand-off's issuer lookup, src/inbound/issuer-lookup.ts). */
export function trustedIssuerFromRow(r: Record<string, any>): TrustedIssuer {
  return Object.assign(new TrustedIssuer(), {
    id: r.id,
    tenantId: r.tenant_id,
    issuer: r.issuer,
    audience: r.audience,
    algorithms: r.algorithms,
    claimEmail: r.claim_email,
    claimFirstName: r.claim_first_name,
    claimLastName: r.claim_last_name,
    claimGroups: r.claim_groups,
    maxTokenAgeSeconds: r.max_token_age_seconds,
    jitProvisioning: r.jit_provisioning,
    syncGroups: r.sync_groups,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });
}
