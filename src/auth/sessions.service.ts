import { Injectable, Logger } from '@nestjs/common';
import type { CookieOptions, Request, Response } from 'express';
import { serialize as serializeCookie } from 'cookie';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { updatedRows } from '../common/db-errors';
import { notFound } from '../common/errors';
import { SESSION_COOKIE } from '../common/route-protection';
import { wireCookieName } from '../common/cookie-names';
import { InjectConfig } from '../config/config.module';
import { Batcher, HOT_PATH_BATCHING } from '../common/batcher';
import { namedQuery } from '../common/named-query';
import { Config } from '../config/configuration';
import { randomToken, sha256Hex } from '../crypto/tokens';
import { joinTenant, tenantEnabled } from '../tenants/tenants.sql';
import { joinUser, userEnabled } from '../users/users.sql';
import { SessionContext } from './auth.types';
import { RequestMeta } from '../common/request-meta';
import { LiveSessionRow, liveSessionsSql } from './sessions.sql';
import { AuthError } from './auth.errors';
import { auditInsertSql } from '../audit/audit-insert.sql';

/** What `create` issues: randomToken(32), 32 bytes in base64url without padding. */
const SESSION_TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** Touch last_seen_at at most this often: the idle timeout is exact to within this. */
const TOUCH_INTERVAL_MS = 60_000;

export interface SessionSummary {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
}

/**
 * Every @LoadsSession request runs this, for a batch of session ids at once (`resolve`), as a
 * named statement (namedQuery). The ids are compared as bpchar (sessions.id is char(64)) so
 * the primary key index serves them.
 */
export const RESOLVE_SQL = liveSessionsSql('s.id = ANY ($1::bpchar[])', '$2');

/**
 * Sign-ins' sessions in one statement (concurrent ones share it, src/common/batcher.ts): for
 * each, the session the browser arrived with (if any) ends, the new one is written, and the
 * event that explains it, atomically (a statement commits whole or not at all) and in one
 * round trip instead of a transaction's four — and only while the user and the tenant are
 * still enabled. The caller read them earlier (a hand-off provisions and syncs groups in
 * between); the users' rows are locked FOR SHARE here, so a disable either commits first (and
 * this statement sees it: nothing is written for that user) or waits for this one (and its
 * revocation then ends the session written here). One array per column, one element per
 * sign-in ($1 id, $2 user, $3 tenant, $4 absolute timeout (s), $5 ip, $6 user agent, $7
 * opened_by, $8 previous session id or null, $9.. the audit event: type, actor, ip, request
 * id, details (json)); `n` the sign-in's 1-based position.
 */
export const OPEN_SQL = `
  WITH inp AS (SELECT * FROM unnest($1::bpchar[], $2::uuid[], $3::uuid[], $4::float8[], $5::varchar[], $6::varchar[], $7::varchar[], $8::bpchar[],
                                   $9::varchar[], $10::varchar[], $11::varchar[], $12::varchar[], $13::jsonb[])
                 WITH ORDINALITY AS i(id, user_id, tenant_id, secs, ip, user_agent, opened_by, prev, a_type, a_actor, a_ip, a_request_id, a_details, n)),
       ok AS (SELECT inp.n, ${userEnabled('u')} AS user_ok, ${tenantEnabled('t')} AS tenant_ok
                FROM inp ${joinUser('u', { userId: 'inp.user_id', tenantId: 'inp.tenant_id' })} ${joinTenant('t', 'u.tenant_id')}
               FOR SHARE OF u),
       go AS (SELECT inp.* FROM inp JOIN ok ON ok.n = inp.n WHERE ok.user_ok AND ok.tenant_ok),
       prev AS (UPDATE sessions SET revoked_at = now() FROM go WHERE sessions.id = go.prev AND sessions.revoked_at IS NULL RETURNING sessions.id),
       s AS (INSERT INTO sessions (id, user_id, tenant_id, expires_at, ip, user_agent, opened_by)
             SELECT id, user_id, tenant_id, now() + make_interval(secs => secs), ip, user_agent, opened_by FROM go RETURNING id, created_at, expires_at),
       a AS (${auditInsertSql('SELECT go.a_type, go.a_actor, go.tenant_id, go.a_ip, go.a_request_id, go.a_details FROM go JOIN s ON s.id = go.id')})
  SELECT inp.n, s.created_at, s.expires_at, ok.user_ok, ok.tenant_ok
    FROM inp LEFT JOIN ok ON ok.n = inp.n LEFT JOIN s ON s.id = inp.id`;

/** One sign-in's row of OPEN_SQL. */
interface OpenItem {
  id: string;
  userId: string;
  tenantId: string;
  ip: string | null;
  userAgent: string | null;
  openedBy: string;
  previousId: string | null;
  audit: { type: string; actor: string; ip: string | null; requestId: string | null; details: string };
}

interface OpenRow {
  created_at: Date | null;
  expires_at: Date | null;
  user_ok: boolean | null;
  tenant_ok: boolean | null;
}

/** A batch of touches: the sessions' ids ($1). */
const TOUCH_SQL = `UPDATE sessions SET last_seen_at = now() WHERE id = ANY($1::bpchar[])`;
/** At most one warning per this many ms about failed touches. */
const TOUCH_ERROR_LOG_INTERVAL_MS = 60_000;

type ResolvedRow = LiveSessionRow;

/**
 * Server-side sessions in Postgres. The cookie carries a random token; only its SHA-256 is
 * stored, so a database read does not hand out live sessions. A session is valid while not
 * revoked, before its absolute expiry, within the idle timeout, and while its user and
 * tenant are enabled (disabling either ends it at once).
 */
@Injectable()
export class SessionsService {
  /**
   * Concurrent lookups share one statement (group commit for reads, src/common/batcher.ts):
   * under load one round trip answers many requests; alone, a lookup is sent at once.
   */
  private readonly lookups = new Batcher<string, ResolvedRow | undefined>((ids) => this.lookup(ids), HOT_PATH_BATCHING);
  /** Sign-ins' sessions (OPEN_SQL), shared by concurrent sign-ins: one commit for many. */
  private readonly opens = new Batcher<OpenItem, OpenRow>((items) => this.openBatch(items), HOT_PATH_BATCHING);
  /**
   * last_seen_at touches, shared by concurrent requests and not waited for by the request that
   * asked: awaited one by one, each was an extra round trip and commit on the hot path for one
   * request per session per TOUCH_INTERVAL_MS (at one handshake per session per second, 1.7 %
   * of them), and sessions signed in together fell due together (a burst of single-row commits
   * that stalled every handshake for ~100 ms in the fixed-rate bench). A touch that fails is
   * logged: the next request of that session asks again.
   */
  private readonly touches = new Batcher<string, void>((ids) => this.touchBatch(ids), HOT_PATH_BATCHING);
  /** Sessions with a touch queued or in flight (not asked again meanwhile), and its promise. */
  private readonly touching = new Map<string, Promise<void>>();
  private readonly log = new Logger(SessionsService.name);
  private lastTouchErrorLog = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    @InjectConfig('session') private readonly session: Config<'session'>,
    @InjectConfig('app') private readonly app: Config<'app'>,
  ) {}

  /** A new session with a fresh random id (pass the login's transaction manager). */
  async create(
    user: { id: string; tenantId: string },
    meta: { ip: string | null; userAgent: string | null },
    manager?: EntityManager,
    openedBy: string | null = null,
  ): Promise<{ token: string; id: string; expiresAt: Date }> {
    const token = randomToken(32);
    const id = sha256Hex(token);
    const rows: { expires_at: Date }[] = await (manager ?? this.dataSource).query(
      `INSERT INTO sessions (id, user_id, tenant_id, expires_at, ip, user_agent, opened_by)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5, $6, $7) RETURNING expires_at`,
      [id, user.id, user.tenantId, this.session.absoluteTimeoutSeconds, meta.ip, meta.userAgent?.slice(0, 512) ?? null, openedBy],
    );
    return { token, id, expiresAt: rows[0].expires_at };
  }

  /**
   * A sign-in that is one statement (OPEN_SQL): ends `previousId`'s session (session fixation:
   * the browser gets a fresh id whoever's session it brought), opens the new one and writes
   * `audit` (its details get `sessionId`), all or nothing. The caller's other writes are
   * already committed (the hand-off's jti claim must be, whatever happens next).
   */
  async open(
    user: { id: string; tenantId: string },
    meta: { ip: string | null; userAgent: string | null },
    openedBy: string,
    previousId: string | null,
    audit: { type: string; actor: string; ip: string | null; requestId: string | null; details: Record<string, unknown> },
  ): Promise<{ token: string; id: string; createdAt: Date; expiresAt: Date } | { refused: 'user_disabled' | 'tenant_disabled' }> {
    const token = randomToken(32);
    const id = sha256Hex(token);
    const details = { ...audit.details, sessionId: id };
    const row = await this.opens.submit({
      id,
      userId: user.id,
      tenantId: user.tenantId,
      ip: meta.ip,
      userAgent: meta.userAgent?.slice(0, 512) ?? null,
      openedBy,
      previousId,
      audit: { type: audit.type, actor: audit.actor, ip: audit.ip, requestId: audit.requestId, details: JSON.stringify(details) },
    });
    // No user row (deleted meanwhile) counts as a disabled user: no session either way.
    if (!row.created_at || !row.expires_at) return { refused: row.user_ok === true && row.tenant_ok === false ? 'tenant_disabled' : 'user_disabled' };
    this.audit.written(audit.type, details);
    return { token, id, createdAt: row.created_at, expiresAt: row.expires_at };
  }

  private async openBatch(items: OpenItem[]): Promise<OpenRow[]> {
    const col = <T>(f: (i: OpenItem) => T) => items.map(f);
    const rows = await namedQuery<OpenRow & { n: string }>(this.dataSource, OPEN_SQL, [
      col((i) => i.id), col((i) => i.userId), col((i) => i.tenantId), col(() => this.session.absoluteTimeoutSeconds), col((i) => i.ip), col((i) => i.userAgent),
      col((i) => i.openedBy), col((i) => i.previousId), col((i) => i.audit.type), col((i) => i.audit.actor), col((i) => i.audit.ip), col((i) => i.audit.requestId),
      col((i) => i.audit.details),
    ]);
    const out: OpenRow[] = items.map(() => ({ created_at: null, expires_at: null, user_ok: null, tenant_ok: null }));
    for (const r of rows) out[Number(r.n) - 1] = r;
    return out;
  }

  /**
   * THE way from a session cookie to a session id (sessions.id is the SHA-256 of the token):
   * every reader of the cookie goes through here. Only a string of the form `create` issues is
   * accepted — cookie-parser hands over `j:`-prefixed values as parsed JSON (arrays, objects,
   * numbers), and those, like any other malformed value, are simply no session.
   */
  static idFromCookie(value: unknown): string | null {
    return typeof value === 'string' && SESSION_TOKEN.test(value) ? sha256Hex(value) : null;
  }

  /** The live session for a session cookie's value, or null. One (shared) round trip, plus a rare touch. */
  async resolve(cookie: unknown): Promise<SessionContext | null> {
    const id = SessionsService.idFromCookie(cookie);
    if (!id) return null;
    const r = await this.lookups.submit(id);
    return r ? this.fromRow(r) : null;
  }

  /**
   * A live session read with liveSessionsSql (here, or inside another module's statement: the
   * SSO hot path reads the session and the target at once) as a SessionContext; touches
   * last_seen_at when it is older than the touch interval.
   */
  async fromRow(r: LiveSessionRow): Promise<SessionContext> {
    if (Date.now() - new Date(r.last_seen_at).getTime() > TOUCH_INTERVAL_MS) this.touch(r.id);
    return {
      id: r.id,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      targetsUsed: r.targets_used ?? [],
      user: { id: r.user_id, email: r.email, firstName: r.first_name, lastName: r.last_name, attributes: r.user_attributes },
      tenant: { id: r.tenant_id, slug: r.slug, name: r.tenant_name, attributes: r.tenant_attributes },
    };
  }

  /** Queues a touch of the session's last_seen_at (see `touches`); never throws. */
  private touch(id: string): void {
    if (this.touching.has(id)) return;
    const done = this.touches.submit(id).then(
      () => undefined,
      (err: Error) => {
        const now = Date.now();
        if (now - this.lastTouchErrorLog >= TOUCH_ERROR_LOG_INTERVAL_MS) {
          this.lastTouchErrorLog = now;
          this.log.warn(`touching sessions' last_seen_at failed (asked again on their next request): ${err.message}`);
        }
      },
    );
    this.touching.set(id, done);
    void done.finally(() => this.touching.delete(id));
  }

  /** Resolves once every touch queued so far has been written or has failed (tests, shutdown). */
  async touchesSettled(): Promise<void> {
    while (this.touching.size) await Promise.all([...this.touching.values()]);
  }

  /** Before the database connections close: the touches already asked for are written. */
  beforeApplicationShutdown(): Promise<void> {
    return this.touchesSettled();
  }

  private async touchBatch(ids: string[]): Promise<void[]> {
    // Sorted: the rows are locked in one order whatever the batch.
    await namedQuery(this.dataSource, TOUCH_SQL, [[...ids].sort()]);
    return ids.map(() => undefined);
  }

  /** The idle timeout, the `idleSeconds` of liveSessionsSql. */
  get idleTimeoutSeconds(): number {
    return this.session.idleTimeoutSeconds;
  }

  /** The live sessions among `ids`, in order (undefined where none). */
  private async lookup(ids: string[]): Promise<(ResolvedRow | undefined)[]> {
    const rows = await namedQuery<ResolvedRow>(this.dataSource, RESOLVE_SQL, [ids, this.session.idleTimeoutSeconds]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id));
  }

  /**
   * Why a cookie did not resolve to a live session, when the reason is a disabled user or
   * tenant (the session itself still valid): such visitors get a clear refusal instead of a
   * login page they cannot pass. Off the hot path: only asked when resolving failed.
   */
  async disabledAccount(cookie: unknown): Promise<{ userId: string; tenantId: string; reason: 'user_disabled' | 'tenant_disabled' } | null> {
    const sessionId = SessionsService.idFromCookie(cookie);
    if (!sessionId) return null;
    const rows = await this.dataSource.query(
      `SELECT s.user_id, s.tenant_id, NOT ${userEnabled('u')} AS user_disabled, NOT ${tenantEnabled('t')} AS tenant_disabled
         FROM sessions s
         ${joinUser('u', { userId: 's.user_id', tenantId: 's.tenant_id' })}
         ${joinTenant('t', 's.tenant_id')}
        WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > now()`,
      [sessionId],
    );
    if (!rows.length) return null;
    const r = rows[0];
    if (r.tenant_disabled) return { userId: r.user_id, tenantId: r.tenant_id, reason: 'tenant_disabled' };
    if (r.user_disabled) return { userId: r.user_id, tenantId: r.tenant_id, reason: 'user_disabled' };
    return null;
  }

  fromRequest(req: Request): Promise<SessionContext | null> {
    return this.resolve((req.cookies as Record<string, unknown> | undefined)?.[SESSION_COOKIE]);
  }

  /**
   * A logout: ends the cookie's session (live or not: an idle-expired row is closed too) and
   * audits `logout` (with `details` added) in one transaction. Null when there was no such
   * session. The one way for every logout route (/logout, a BI tool's remote logout).
   */
  async logOut(
    cookie: unknown,
    meta: RequestMeta,
    details: Record<string, unknown> = {},
  ): Promise<{ sessionId: string; userId: string; tenantId: string; targetsUsed: string[]; openedBy: string | null } | null> {
    const sessionId = SessionsService.idFromCookie(cookie);
    if (!sessionId) return null;
    return this.dataSource.transaction(async (m) => {
      const ended = await this.revoke(sessionId, m);
      if (!ended) return null;
      await this.audit.record(
        { ...meta, actor: `user:${ended.userId}` },
        { type: 'logout', tenantId: ended.tenantId, details: { userId: ended.userId, sessionId, ...details } },
        m,
      );
      return { sessionId, ...ended };
    });
  }

  /** Ends one session. Returns the row's user/tenant when it was live. */
  async revoke(id: string, manager?: EntityManager): Promise<{ userId: string; tenantId: string; targetsUsed: string[]; openedBy: string | null } | null> {
    const rows = updatedRows<{ user_id: string; tenant_id: string; targets_used: string[]; opened_by: string | null }>(
      await (manager ?? this.dataSource).query(
        `UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL
         RETURNING user_id, tenant_id, targets_used, opened_by`,
        [id],
      ),
    );
    return rows.length ? { userId: rows[0].user_id, tenantId: rows[0].tenant_id, targetsUsed: rows[0].targets_used ?? [], openedBy: rows[0].opened_by ?? null } : null;
  }

  /** Revokes a session of a given user within a tenant (admin API). */
  async revokeForUser(tenantId: string, userId: string, sessionId?: string, manager?: EntityManager): Promise<number> {
    const rows = updatedRows(
      await (manager ?? this.dataSource).query(
        `UPDATE sessions SET revoked_at = now()
          WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL AND ($3::text IS NULL OR id = $3)
          RETURNING id`,
        [tenantId, userId, sessionId ?? null],
      ),
    );
    return rows.length;
  }

  /** Ends every live session of the user but `keepId` (a password change keeps the session that made it). */
  async revokeOthers(tenantId: string, userId: string, keepId: string | null, manager?: EntityManager): Promise<number> {
    const rows = updatedRows(
      await (manager ?? this.dataSource).query(
        `UPDATE sessions SET revoked_at = now()
          WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL AND ($3::text IS NULL OR id <> $3)
          RETURNING id`,
        [tenantId, userId, keepId],
      ),
    );
    return rows.length;
  }

  /**
   * An operator ends one session of a user (404 when it is not live) or all of them, with a
   * `session.revoked` audit event in the same transaction. The user must exist in the tenant.
   */
  async revokeByAdmin(meta: RequestMeta, tenantId: string, userId: string, sessionId?: string): Promise<number> {
    return this.dataSource.transaction(async (m) => {
      const revoked = await this.revokeForUser(tenantId, userId, sessionId, m);
      if (sessionId !== undefined && revoked === 0) throw notFound(AuthError.SessionNotFound);
      await this.audit.record(
        meta,
        { type: 'session.revoked', tenantId, details: { userId, ...(sessionId ? { sessionId } : { all: true }), count: revoked } },
        m,
      );
      return revoked;
    });
  }

  async revokeForTenant(tenantId: string, manager?: EntityManager): Promise<number> {
    const rows = updatedRows(
      await (manager ?? this.dataSource).query(
        `UPDATE sessions SET revoked_at = now() WHERE tenant_id = $1 AND revoked_at IS NULL RETURNING id`,
        [tenantId],
      ),
    );
    return rows.length;
  }

  /** Live sessions of a user (ids are SHA-256 of the cookie, safe to show an operator). */
  async listForUser(tenantId: string, userId: string): Promise<SessionSummary[]> {
    const rows = await this.dataSource.query(
      `SELECT id, created_at, last_seen_at, expires_at, ip, user_agent FROM sessions
        WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now()
          AND last_seen_at > now() - make_interval(secs => $3)
        ORDER BY created_at DESC`,
      [tenantId, userId, this.session.idleTimeoutSeconds],
    );
    return rows.map((r: any) => ({ id: r.id, createdAt: r.created_at, lastSeenAt: r.last_seen_at, expiresAt: r.expires_at, ip: r.ip, userAgent: r.user_agent }));
  }

  /** HttpOnly; Secure + SameSite=None over https (so the flow works inside BI iframes), else Lax. */
  cookieOptions(): CookieOptions {
    const secure = this.app.secureCookies;
    return {
      httpOnly: true,
      secure,
      sameSite: secure ? 'none' : 'lax',
      path: '/',
      maxAge: this.session.absoluteTimeoutSeconds * 1000,
    };
  }

  /** The session cookie's name on the wire: `__Host-eidp_session` over https (common/cookie-names.ts). */
  get cookieName(): string {
    return wireCookieName(SESSION_COOKIE, this.app.secureCookies);
  }

  setCookie(res: Response, token: string): void {
    res.cookie(this.cookieName, token, this.cookieOptions());
  }

  /**
   * The Set-Cookie value setCookie has Express write (res.cookie: Expires from maxAge, Max-Age
   * in seconds, Path /), for an answer given before Express (the hand-off fast path). The
   * medium spec compares the two byte for byte.
   */
  cookieHeader(token: string): string {
    const { maxAge, ...opts } = this.cookieOptions();
    const ms = maxAge!;
    return serializeCookie(this.cookieName, token, { ...opts, expires: new Date(Date.now() + ms), maxAge: Math.floor(ms / 1000), path: opts.path ?? '/' });
  }

  clearCookie(res: Response): void {
    const { maxAge: _maxAge, ...opts } = this.cookieOptions();
    res.clearCookie(this.cookieName, opts);
  }
}
