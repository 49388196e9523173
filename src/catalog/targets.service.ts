import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, QueryFailedError, Repository, SelectQueryBuilder } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { AuditService } from '../audit/audit.service';
import type { RequestMeta } from '../common/request-meta';
import { badRequest, conflict, notFound } from '../common/errors';
import { OutboundGuard } from './outbound';
import { SecretBox } from '../crypto/secret-box';
import {
  checkRequiredSecrets,
  checkSecretsInput,
  CreateTargetInput,
  normaliseBaseUrl,
  secretsInput,
  SentSecret,
  TargetView,
  UpdateTargetInput,
} from './dto/target-input';
import { SealedSecrets, Target, TargetSettings } from './target.entity';
import { parseTargetSettings, targetDefinition, TargetDefinition } from '../products';
import { targetSecretContext } from './target-secrets';
import { SsoError } from './sso.errors';
import { TargetKeysService } from './target-keys';
import { keyPairSigningOf } from '../products/product-definition';

type TargetRow = Target & { secrets: SealedSecrets };

/**
 * BI targets: their configuration and their write-only secrets (sealed with SecretBox; the
 * SSO flow opens them through SigningKeyCache, which also notices a changed secret in any
 * process). Targets are global, not tenant-owned.
 */
@Injectable()
export class TargetsService {

  constructor(
    @InjectRepository(Target) private readonly repo: Repository<Target>,
    private readonly dataSource: DataSource,
    private readonly box: SecretBox,
    private readonly audit: AuditService,
    private readonly outbound: OutboundGuard,
    private readonly keys: TargetKeysService,
  ) {}

  async list(): Promise<TargetView[]> {
    const rows = await this.withSealed(this.repo.createQueryBuilder('t')).orderBy('t.slug', 'ASC').getMany();
    return rows.map(toView);
  }

  async get(id: string): Promise<TargetView> {
    const row = await this.withSealed(this.repo.createQueryBuilder('t')).where('t.id = :id', { id }).getOne();
    if (!row) throw notFound(SsoError.TargetNotFound);
    return toView(row);
  }

  /**
   * A target by slug, no secrets: for admin paths that name one (TargetRefPipe). The SSO hot
   * path reads through SsoRepository.load instead.
   */
  findBySlug(slug: string): Promise<Target | null> {
    return this.repo.findOne({ where: { slug } });
  }

  async create(meta: RequestMeta, input: CreateTargetInput): Promise<TargetView> {
    const def = requireDefinition(input.kind);
    const problems: string[] = [];
    const baseUrl = normaliseBaseUrl(input.baseUrl, problems);
    // A product the service itself calls (a token broker): only where outbound calls may go.
    if (def.broker && !problems.length) problems.push(...(await this.outbound.baseUrlProblems(baseUrl)));
    const parsed = parseTargetSettings(def, input.settings ?? {});
    problems.push(...parsed.problems);
    if (!problems.length) problems.push(...(await this.outboundSettingProblems(def, parsed.settings)));
    const sent = secretsInput(input);
    checkSecretsInput(def, sent, problems);
    checkRequiredSecrets(def, sent.filter((x) => x.value !== null).map((x) => x.name), problems);
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
        secrets: this.seal(id, sent, {}),
      });
      // A product verifying with our public key: its first key pair, in the same transaction.
      const keyPair = keyPairSigningOf(def);
      if (keyPair) await this.keys.createFirst(m, id, keyPair.keyPair(parsed.settings as TargetSettings));
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
    if (!changed.length) throw badRequest(SsoError.EmptyUpdate, 'Send at least one field to change');
    await this.dataSource.transaction(async (m) => {
      const current = await this.withSealed(m.getRepository(Target).createQueryBuilder('t'))
        .where('t.id = :id', { id })
        .setLock('pessimistic_write')
        .getOne();
      if (!current) throw notFound(SsoError.TargetNotFound);

      const kind = input.kind ?? current.kind;
      const def = requireDefinition(kind);
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
      if (def.broker && (patch.baseUrl !== undefined || kind !== current.kind) && !problems.length) {
        problems.push(...(await this.outbound.baseUrlProblems(patch.baseUrl ?? current.baseUrl)));
      }
      // Settings are checked against the (possibly new) kind, whether sent or kept.
      if (input.settings !== undefined || kind !== current.kind) {
        const parsed = parseTargetSettings(def, input.settings ?? current.settings);
        problems.push(...parsed.problems);
        if (!problems.length) problems.push(...(await this.outboundSettingProblems(def, parsed.settings)));
        patch.settings = parsed.settings;
      }
      const sent = secretsInput(input);
      checkSecretsInput(def, sent, problems);
      // A secret the (possibly new) product does not use is dropped, not kept unreadable.
      const kept = Object.fromEntries(Object.entries(current.secrets ?? {}).filter(([name]) => def.secrets.some((s) => s.name === name)));
      const names = new Set(Object.keys(kept));
      for (const { name, value } of sent) {
        if (value === null) names.delete(name);
        else names.add(name);
      }
      checkRequiredSecrets(def, [...names], problems);
      if (problems.length) throw invalid(problems);
      const dropped = Object.keys(kept).length !== Object.keys(current.secrets ?? {}).length;
      if (sent.length || dropped) patch.secrets = this.seal(id, sent, kept);

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
      if (!deleted) throw notFound(SsoError.TargetNotFound);
      await m.getRepository(Target).delete({ id });
      await this.audit.record(meta, { type: 'target.deleted', tenantId: null, details: { targetId: id, slug: deleted.slug, kind: deleted.kind } }, m);
    });
  }

  /** A broker's other outbound URLs (e.g. an identity provider's host), checked as the base URL is. */
  private async outboundSettingProblems(def: TargetDefinition, settings: Record<string, unknown>): Promise<string[]> {
    const out: string[] = [];
    for (const { field, url } of def.broker?.outboundUrls?.(settings) ?? []) out.push(...(await this.outbound.baseUrlProblems(url, `settings.${field}`)));
    return out;
  }

  /** The sealed column is select: false; only this service (and the SSO store) reads it. */
  private withSealed(qb: SelectQueryBuilder<Target>): SelectQueryBuilder<TargetRow> {
    return qb.addSelect('t.secrets') as SelectQueryBuilder<TargetRow>;
  }

  /** `current` with the sent secrets sealed in (each under its own context) and nulls removed. */
  private seal(id: string, sent: SentSecret[], current: SealedSecrets): SealedSecrets {
    const out: SealedSecrets = { ...current };
    for (const { name, value } of sent) {
      if (value === null) delete out[name];
      else out[name] = this.box.seal(value, targetSecretContext(id, name));
    }
    return out;
  }

  private async assertSlugFree(m: EntityManager, slug: string): Promise<void> {
    if (await m.getRepository(Target).exists({ where: { slug } })) {
      throw conflict(SsoError.TargetSlugTaken, `A target with slug "${slug}" already exists`);
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
    hasSecret: !!t.secrets?.secret,
    secretsSet: Object.keys(t.secrets ?? {}).sort(),
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  };
}

/** The DTO accepts only known kinds; a stored kind no definition has any more is refused too. */
function requireDefinition(kind: string): TargetDefinition {
  const def = targetDefinition(kind);
  if (!def) throw badRequest(SsoError.InvalidTarget, `kind "${kind}" is not a product this service serves`);
  return def;
}

const invalid = (problems: string[]) => badRequest(SsoError.InvalidTarget, problems.join('; '), { problems });

/** Two creates racing for one slug: the loser gets the same 409 as a sequential duplicate. */
function slugRace(slug: string) {
  return (err: unknown): never => {
    if (err instanceof QueryFailedError && (err.driverError as { constraint?: string }).constraint === 'uq_targets_slug') {
      throw conflict(SsoError.TargetSlugTaken, `A target with slug "${slug}" already exists`);
    }
    throw err;
  };
}
