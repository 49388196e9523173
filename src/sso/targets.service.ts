import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, QueryFailedError, Repository, SelectQueryBuilder } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { AuditService } from '../audit/audit.service';
import type { RequestMeta } from '../auth/auth.types';
import { badRequest, conflict, notFound } from '../common/errors';
import { SecretBox } from '../crypto/secret-box';
import {
  checkSecretsForKind,
  checkSecretValue,
  CreateTargetInput,
  normaliseBaseUrl,
  TargetView,
  UpdateTargetInput,
} from './dto/target-input';
import { Target, TargetSettings } from './target.entity';
import { targetDefinition } from './targets';
import { targetSecretContext } from './signing-keys';

const secretContext = (targetId: string) => targetSecretContext(targetId, 'secret');
const embeddingSecretContext = (targetId: string) => targetSecretContext(targetId, 'embedding_secret');

type TargetRow = Target & { secretEnc: string | null; embeddingSecretEnc: string | null };

/**
 * BI targets: their configuration and their write-only secrets (sealed with SecretBox; the
 * SSO flow opens them through SigningKeys, which also notices a changed secret in any
 * process). Targets are global, not tenant-owned.
 */
@Injectable()
export class TargetsService {

  constructor(
    @InjectRepository(Target) private readonly repo: Repository<Target>,
    private readonly dataSource: DataSource,
    private readonly box: SecretBox,
    private readonly audit: AuditService,
  ) {}

  async list(): Promise<TargetView[]> {
    const rows = await this.withSealed(this.repo.createQueryBuilder('t')).orderBy('t.slug', 'ASC').getMany();
    return rows.map(toView);
  }

  async get(id: string): Promise<TargetView> {
    const row = await this.withSealed(this.repo.createQueryBuilder('t')).where('t.id = :id', { id }).getOne();
    if (!row) throw notFound('target');
    return toView(row);
  }

  /** For the SSO flow (no secrets). */
  findBySlug(slug: string): Promise<Target | null> {
    return this.repo.findOne({ where: { slug } });
  }

  /** Decrypts a target's secrets (e.g. a broker's client secret). Never log or return what this gives. */
  async openSecrets(targetId: string): Promise<{ secret: string; embeddingSecret: string | null }> {
    const row = await this.withSealed(this.repo.createQueryBuilder('t')).where('t.id = :id', { id: targetId }).getOne();
    if (!row) throw notFound('target');
    // Every kind requires a secret and the API never stores a target without one.
    if (!row.secretEnc) throw new Error(`target ${targetId} has no secret`);
    return {
      secret: this.box.open(row.secretEnc, secretContext(targetId)),
      embeddingSecret: row.embeddingSecretEnc ? this.box.open(row.embeddingSecretEnc, embeddingSecretContext(targetId)) : null,
    };
  }

  async create(meta: RequestMeta, input: CreateTargetInput): Promise<TargetView> {
    const def = targetDefinition(input.kind);
    const problems: string[] = [];
    const baseUrl = normaliseBaseUrl(input.baseUrl, problems);
    const parsed = def.parseSettings(input.settings ?? {});
    problems.push(...parsed.problems);
    if (input.secret !== undefined) checkSecretValue('secret', input.secret, problems);
    if (input.embeddingSecret !== undefined) checkSecretValue('embeddingSecret', input.embeddingSecret, problems);
    checkSecretsForKind(def, input, problems);
    if (problems.length) throw invalid(problems);

    // The id is made here so the secrets can be sealed under it before the one insert.
    const id = randomUUID();
    await this.dataSource.transaction(async (m) => {
      await this.assertSlugFree(m, input.slug);
      await m.getRepository(Target).insert({
        id,
        slug: input.slug,
        kind: input.kind,
        name: input.name ?? '',
        baseUrl,
        settings: parsed.settings as QueryDeepPartialEntity<TargetSettings>,
        disabled: input.disabled ?? false,
        secretEnc: input.secret ? this.box.seal(input.secret, secretContext(id)) : null,
        embeddingSecretEnc: input.embeddingSecret ? this.box.seal(input.embeddingSecret, embeddingSecretContext(id)) : null,
      });
      await this.audit.record(
        meta,
        { type: 'target.created', tenantId: null, details: { targetId: id, slug: input.slug, kind: input.kind } },
        m,
      );
    }).catch(slugRace(input.slug));
    return this.get(id);
  }

  async update(meta: RequestMeta, id: string, input: UpdateTargetInput): Promise<TargetView> {
    const changed = Object.keys(input).filter((k) => input[k as keyof UpdateTargetInput] !== undefined);
    if (!changed.length) throw badRequest('empty_update', 'Send at least one field to change');
    await this.dataSource.transaction(async (m) => {
      const current = await this.withSealed(m.getRepository(Target).createQueryBuilder('t'))
        .where('t.id = :id', { id })
        .setLock('pessimistic_write')
        .getOne();
      if (!current) throw notFound('target');

      const kind = input.kind ?? current.kind;
      const def = targetDefinition(kind);
      const problems: string[] = [];
      const patch: Partial<TargetRow> = {};
      if (input.slug !== undefined && input.slug !== current.slug) {
        await this.assertSlugFree(m, input.slug);
        patch.slug = input.slug;
      }
      if (input.kind !== undefined) patch.kind = input.kind;
      if (input.name !== undefined) patch.name = input.name;
      if (input.disabled !== undefined) patch.disabled = input.disabled;
      if (input.baseUrl !== undefined) patch.baseUrl = normaliseBaseUrl(input.baseUrl, problems);
      // Settings are checked against the (possibly new) kind, whether sent or kept.
      if (input.settings !== undefined || kind !== current.kind) {
        const parsed = def.parseSettings(input.settings ?? current.settings);
        problems.push(...parsed.problems);
        patch.settings = parsed.settings;
      }
      if (input.secret !== undefined) {
        checkSecretValue('secret', input.secret, problems);
        patch.secretEnc = this.box.seal(input.secret, secretContext(id));
      }
      if (input.embeddingSecret === null || (kind !== current.kind && def.secrets.embeddingSecret === 'unused' && input.embeddingSecret === undefined)) {
        patch.embeddingSecretEnc = null;
      } else if (input.embeddingSecret !== undefined) {
        checkSecretValue('embeddingSecret', input.embeddingSecret, problems);
        patch.embeddingSecretEnc = this.box.seal(input.embeddingSecret, embeddingSecretContext(id));
      }
      checkSecretsForKind(
        def,
        {
          secret: 'secretEnc' in patch ? patch.secretEnc : current.secretEnc,
          embeddingSecret: 'embeddingSecretEnc' in patch ? patch.embeddingSecretEnc : current.embeddingSecretEnc,
        },
        problems,
      );
      if (problems.length) throw invalid(problems);

      await m.getRepository(Target).update({ id }, patch as QueryDeepPartialEntity<Target>);
      // Which fields changed, and that a secret was replaced: never the values.
      await this.audit.record(meta, { type: 'target.updated', tenantId: null, details: { targetId: id, slug: patch.slug ?? current.slug, changed } }, m);
    }).catch(slugRace(input.slug ?? ''));
    return this.get(id);
  }

  /** Deleting a target removes its access grants with it (the foreign key cascades). */
  async remove(meta: RequestMeta, id: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const deleted = await m.getRepository(Target).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!deleted) throw notFound('target');
      await m.getRepository(Target).delete({ id });
      await this.audit.record(meta, { type: 'target.deleted', tenantId: null, details: { targetId: id, slug: deleted.slug, kind: deleted.kind } }, m);
    });
  }

  /** The sealed columns are select: false; only this service reads them. */
  private withSealed(qb: SelectQueryBuilder<Target>): SelectQueryBuilder<TargetRow> {
    return qb.addSelect(['t.secretEnc', 't.embeddingSecretEnc']) as SelectQueryBuilder<TargetRow>;
  }

  private async assertSlugFree(m: EntityManager, slug: string): Promise<void> {
    if (await m.getRepository(Target).exists({ where: { slug } })) {
      throw conflict('target_slug_taken', `A target with slug "${slug}" already exists`);
    }
  }

}

function toView(t: TargetRow): TargetView {
  return {
    id: t.id,
    slug: t.slug,
    kind: t.kind,
    name: t.name,
    baseUrl: t.baseUrl,
    settings: t.settings,
    disabled: t.disabled,
    hasSecret: t.secretEnc !== null && t.secretEnc !== undefined,
    hasEmbeddingSecret: t.embeddingSecretEnc !== null && t.embeddingSecretEnc !== undefined,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  };
}

const invalid = (problems: string[]) => badRequest('invalid_target', problems.join('; '), { problems });

/** Two creates racing for one slug: the loser gets the same 409 as a sequential duplicate. */
function slugRace(slug: string) {
  return (err: unknown): never => {
    if (err instanceof QueryFailedError && (err.driverError as { constraint?: string }).constraint === 'uq_targets_slug') {
      throw conflict('target_slug_taken', `A target with slug "${slug}" already exists`);
    }
    throw err;
  };
}
