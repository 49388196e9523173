import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { isSlug } from '../common/identifiers';
import type { SessionContext } from '../auth/auth.types';
import { liveSessionsSql } from '../auth/sessions.sql';
import { SessionsService } from '../auth/sessions.service';
import type { AccessSettings, GroupMappings } from '../catalog/access.entity';
import type { TargetKind, TargetSettings } from '../catalog/target.entity';
import { AuditCommitted } from '../audit/audit-committed';
import { MetricsService } from '../metrics/metrics.service';
import { Batcher, HOT_PATH_BATCHING } from '../common/batcher';
import { namedQuery } from '../common/named-query';
import { isUniqueViolation } from '../common/db-errors';
import { targetColumns, targetJoins } from '../catalog/access.sql';
import { identityOwnersByInstanceSql } from '../identities/identity-claim.sql';
import { iatConflictKey, TOKEN_RECORD_SQL, tokenRecordParams, TokenRecordInput, TokenRecordRow } from './token-record';

type Flat = Record<string, string | number | boolean>;

export type RecordOutcome =
  | { recorded: true; iat: number; exp: number }
  | { recorded: false; reason: 'identity_not_owned' | 'iat_sequence_ahead' };

/** A target with this tenant's access to it and the user's local groups, as one row. */
export interface TargetWithAccess {
  target: {
    id: string;
    slug: string;
    kind: TargetKind;
    baseUrl: string;
    settings: TargetSettings;
    disabled: boolean;
    /** Name -> sealed (SecretBox); opened only when the key is not cached yet. */
    secrets: Record<string, string>;
  };
  /** Null when the tenant has no access (or there is no session to ask for). */
  access: { id: string; groupMappings: GroupMappings; attributes: Flat; settings: AccessSettings } | null;
  /** The user's local group names within the tenant ([] without a session). */
  groups: string[];
}

export const LOAD_SQL = `
  SELECT i.n, ${targetColumns('i.user_id', 'i.tenant_id')}
    FROM unnest($1::varchar[], $2::uuid[], $3::uuid[]) WITH ORDINALITY AS i(target_slug, tenant_id, user_id, n)
    ${targetJoins('i.target_slug', 'i.tenant_id')}`;

/**
 * LOAD_SQL for the hand-off's precheck, with the owners of the identity it will most likely
 * present ($4: the user's email, lower-cased) on each BI instance (`identity_owners`): the
 * precheck's ownership check then needs no statement of its own.
 */
export const HANDOFF_LOAD_SQL = `
  SELECT i.n, ${targetColumns('i.user_id', 'i.tenant_id')}, ${identityOwnersByInstanceSql('i.email')} AS identity_owners
    FROM unnest($1::varchar[], $2::uuid[], $3::uuid[], $4::varchar[]) WITH ORDINALITY AS i(target_slug, tenant_id, user_id, email, n)
    ${targetJoins('i.target_slug', 'i.tenant_id')}`;

/**
 * The SSO fast path's one read: for a batch of (session id, target slug), the live session
 * (the sessions module's liveSessionsSql, so the session rules stay theirs) and, for each
 * session found, its target, access and groups as LOAD_SQL reads them. A row per live session.
 */
export const SESSION_AND_TARGET_SQL = `
  SELECT k.n, ses.*, ${targetColumns('ses.user_id', 'ses.tenant_id')}
    FROM unnest($1::bpchar[], $2::varchar[]) WITH ORDINALITY AS k(session_id, target_slug, n)
    JOIN LATERAL (${liveSessionsSql('s.id = k.session_id', '$3')} LIMIT 1) ses ON true
    ${targetJoins('k.target_slug', 'ses.tenant_id')}`;

interface HandoffLoadKey extends LoadKey {
  email: string;
}

/** A hand-off's target read: the target as load() answers it, and who owns the email's identity on each instance. */
export interface HandoffLoad {
  loaded: TargetWithAccess;
  owners: Record<string, string>;
}

interface LoadKey {
  slug: string;
  tenantId: string | null;
  userId: string | null;
}

/**
 * The SSO flow's database work, each method one round trip.
 *
 * The two hot-path statements run as named (prepared) statements (namedQuery): Postgres then
 * parses and plans them once per connection instead of on every request. Each works on a batch
 * (group commit, src/common/batcher.ts): under load, concurrent handshakes share one round
 * trip and, for the records, one commit; each is answered only when its batch has returned.
 */
@Injectable()
export class SsoRepository {
  private readonly loads = new Batcher<LoadKey, TargetWithAccess | null>((keys) => this.loadBatch(keys), HOT_PATH_BATCHING);
  private readonly handoffLoads = new Batcher<HandoffLoadKey, HandoffLoad | null>((keys) => this.handoffLoadBatch(keys), HOT_PATH_BATCHING);
  private readonly sessionLoads = new Batcher<{ sessionId: string; slug: string }, any>((keys) => this.loadWithSessionBatch(keys), HOT_PATH_BATCHING);
  private readonly records = new Batcher<TokenRecordInput, TokenRecordRow>((inputs, how) => this.recordBatch(inputs, how), { ...HOT_PATH_BATCHING, conflictKey: iatConflictKey });

  constructor(
    private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
    private readonly sessions: SessionsService,
    private readonly auditCommitted: AuditCommitted,
  ) {}

  /**
   * The target by slug, this tenant's access row and the user's groups: the one read of the
   * hot path. Without a session pass nulls (only the target is then of use).
   */
  async load(slug: string, tenantId: string | null, userId: string | null): Promise<TargetWithAccess | null> {
    // A slug that cannot exist is not worth a query (and keeps junk out of the planner).
    if (!isSlug(slug)) return null;
    return this.loads.submit({ slug, tenantId, userId });
  }

  private async loadBatch(keys: LoadKey[]): Promise<(TargetWithAccess | null)[]> {
    const rows = await namedQuery<any>(this.dataSource, LOAD_SQL, [keys.map((k) => k.slug), keys.map((k) => k.tenantId), keys.map((k) => k.userId)]);
    const out: (TargetWithAccess | null)[] = keys.map(() => null);
    for (const r of rows) out[Number(r.n) - 1] = targetFromRow(r);
    return out;
  }

  /**
   * load() for a hand-off's precheck, with `owners`: who owns `email` (lower-cased) on each BI
   * instance, `{instance: tenant id}`, read in the same statement. The user id may be null (a
   * user JIT would create).
   */
  async loadForHandoff(slug: string, tenantId: string, userId: string | null, email: string): Promise<HandoffLoad | null> {
    if (!isSlug(slug)) return null;
    return this.handoffLoads.submit({ slug, tenantId, userId, email });
  }

  private async handoffLoadBatch(keys: HandoffLoadKey[]): Promise<(HandoffLoad | null)[]> {
    const rows = await namedQuery<any>(this.dataSource, HANDOFF_LOAD_SQL, [
      keys.map((k) => k.slug),
      keys.map((k) => k.tenantId),
      keys.map((k) => k.userId),
      keys.map((k) => k.email),
    ]);
    const out: (HandoffLoad | null)[] = keys.map(() => null);
    for (const r of rows) {
      const loaded = targetFromRow(r);
      if (loaded) out[Number(r.n) - 1] = { loaded, owners: r.identity_owners ?? {} };
    }
    return out;
  }

  /**
   * The live session for a session id (sessions.id) and the target by slug with this
   * session's access and groups, in one (shared) round trip: what the SSO fast path reads.
   * Null without a live session; `loaded` null for an unknown slug.
   */
  async loadWithSession(sessionId: string, slug: string): Promise<{ session: SessionContext; loaded: TargetWithAccess | null } | null> {
    if (!isSlug(slug)) return null;
    const row = await this.sessionLoads.submit({ sessionId, slug });
    if (!row) return null;
    return { session: await this.sessions.fromRow(row), loaded: targetFromRow(row) };
  }

  private async loadWithSessionBatch(keys: { sessionId: string; slug: string }[]): Promise<any[]> {
    const rows = await namedQuery<any>(this.dataSource, SESSION_AND_TARGET_SQL, [
      keys.map((k) => k.sessionId),
      keys.map((k) => k.slug),
      this.sessions.idleTimeoutSeconds,
    ]);
    const out: any[] = keys.map(() => undefined);
    for (const r of rows) out[Number(r.n) - 1] = r;
    return out;
  }

  /**
   * Records a token, its audit event and the session's use of the target, atomically, when
   * the tenant owns the identity the BI tool will see (claiming it if nobody does). Nothing
   * is written when it does not (`identity_not_owned`), or when the subject's iat sequence is
   * already as far ahead of the clock as the product tolerates (`iat_sequence_ahead`, see
   * iat-sequence.ts). Returns once the statement holding it has committed.
   */
  async record(input: TokenRecordInput): Promise<RecordOutcome> {
    const row = await this.records.submit(input);
    if (!row.owned) return { recorded: false, reason: 'identity_not_owned' };
    if (row.iat === null || row.exp === null) return { recorded: false, reason: 'iat_sequence_ahead' };
    // The audit row is written by the statement itself, not by AuditService: count it here.
    this.metrics.audited(input.audit.type, input.audit.details);
    return { recorded: true, iat: Number(row.iat), exp: Number(row.exp) };
  }

  private async recordBatch(inputs: TokenRecordInput[], { retry }: { retry: boolean } = { retry: false }): Promise<TokenRecordRow[]> {
    let rows: TokenRecordRow[];
    try {
      rows = await namedQuery<TokenRecordRow>(this.dataSource, TOKEN_RECORD_SQL, tokenRecordParams(inputs));
    } catch (e) {
      // The batcher runs each token of a failed batch again alone. A batch that committed but
      // whose answer was lost (the connection broke after COMMIT) makes that retry meet its
      // own jti: the token is recorded, and is answered as such rather than as an error. (A
      // first attempt meeting its jti is a different token: an error, as always.)
      const committed = retry && inputs.length === 1 && isUniqueViolation(e, 'issued_tokens_pkey') ? await this.committedRecord(inputs[0]) : null;
      if (!committed) throw e;
      return [committed];
    }
    if (rows.length !== inputs.length) throw new Error(`token record answered ${rows.length} rows for ${inputs.length} tokens`);
    // The statement committed its audit events (one per written token): one wake-up per batch.
    this.auditCommitted.notify();
    return rows;
  }

  /** The stored row of a token already recorded for exactly this input (jti, target, tenant, user), or null. */
  private async committedRecord(input: TokenRecordInput): Promise<TokenRecordRow | null> {
    const [row] = await this.dataSource.query(
      `SELECT iat::text, exp::text FROM issued_tokens WHERE jti = $1 AND target_id = $2 AND tenant_id = $3 AND user_id = $4`,
      [input.jti, input.targetId, input.tenantId, input.userId],
    );
    return row ? { n: '1', owned: true, iat: row.iat, exp: row.exp } : null;
  }

}

/** A row of LOAD_SQL or SESSION_AND_TARGET_SQL as a TargetWithAccess (null: no such target). */
function targetFromRow(r: any): TargetWithAccess | null {
  if (!r.target_id) return null;
  return {
    target: {
      id: r.target_id,
      slug: r.target_slug,
      kind: r.kind,
      baseUrl: r.base_url,
      settings: r.settings ?? {},
      disabled: r.target_disabled,
      secrets: r.secrets ?? {},
    },
    access: r.access_id
      ? { id: r.access_id, groupMappings: r.group_mappings ?? {}, attributes: r.access_attributes ?? {}, settings: r.access_settings ?? {} }
      : null,
    groups: r.groups ?? [],
  };
}
