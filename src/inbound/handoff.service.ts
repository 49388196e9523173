import { Inject, Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import type { SessionContext } from '../auth/auth.types';
import type { RequestMeta } from '../common/request-meta';
import { SessionsService } from '../auth/sessions.service';
import { DomainError } from '../common/errors';
import { CreateUserDto } from '../users/dto/user.dto';
import { GroupsService } from '../users/groups.service';
import type { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { Checked, HANDOFF_SOURCES, HandoffProfile, HandoffSource, IdentifiedHandoff, VerifiedHandoff } from './inbound-source';
import { decodeHandoffToken } from './token';
import { namedQuery } from '../common/named-query';
import { Batcher, HOT_PATH_BATCHING } from '../common/batcher';
import { normaliseEmail } from '../common/identifiers';
import { userByEmailSql } from '../users/users.sql';
import { handoffError, HandoffRefusal } from './handoff.errors';

/** Refusals given before the assertion's signature was verified. */
const UNSIGNED_REFUSALS: ReadonlySet<HandoffRefusal> = new Set<HandoffRefusal>([
  'assertion_missing',
  'assertion_too_large',
  'assertion_malformed',
  'unknown_tenant',
  'handoff_not_configured',
  'bad_signature',
  'algorithm_not_allowed',
  'unknown_kid',
  'wrong_issuer',
  'wrong_audience',
  'issuer_unavailable',
]);

export interface HandoffMeta extends RequestMeta {
  userAgent: string | null;
}

export interface HandoffInput {
  /** As received (query parameter or form field): anything, checked here. */
  assertion: unknown;
  meta: HandoffMeta;
  /** The session cookie the browser arrived with: revoked when the new session opens. */
  previousCookie: string | undefined;
  /** For the audit trail: the SSO target the hand-off continues to (absent for /login/handoff). */
  target?: string;
  /**
   * Checks that must pass before anything is created (the target exists and the tenant may
   * use it, the identity is this tenant's there, return_to is acceptable). Throws to refuse.
   */
  precheck?: (who: HandoffSubject) => Promise<void>;
}

/**
 * Who the hand-off signs in, before anything is written: the tenant, and the user as found
 * or as JIT would create them (id '' then), so a product can say which identity it would
 * present (SsoBehaviour.identityEmail) before that user exists.
 */
export interface HandoffSubject {
  tenant: SessionContext['tenant'];
  user: SessionContext['user'];
}

export interface HandoffResult {
  /** The new session's cookie token. */
  token: string;
  userId: string;
  tenantId: string;
  created: boolean;
  /** The new session, as a lookup of its cookie would answer it. */
  session: SessionContext;
  /** The user was created or their groups replaced (a read before this saw other groups). */
  groupsChanged: boolean;
}

/** The user a hand-off signs in: the columns it reads. */
type HandoffUser = Pick<User, 'id' | 'email' | 'firstName' | 'lastName' | 'attributes' | 'disabled'>;

/**
 * Many hand-offs' jti claims and user lookups in one statement: $1 tenants, $2 jtis, $3 exps,
 * $4 emails (normalised), $5 a second key to take with the jti (VerifiedHandoff's
 * previousOnceKey) or null, one per hand-off; `n` the hand-off's 1-based position, `consumed`
 * true when this statement took its jti (and its second key, when it has one). Never two uses
 * of one (tenant, jti) in a statement (the batcher's conflictKey): each row's claim is then
 * its own primary-key insert. Any
 * conflict means spent: the primary key's, or, for a trusted issuer's token, the unique index
 * on its key alone (spent at another organization that trusted the issuer before).
 */
export const CONSUME_AND_FIND_SQL = `
  WITH inp AS (SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::bigint[], $4::varchar[], $5::varchar[]) WITH ORDINALITY AS i(tenant_id, jti, exp, email, also, n)),
       c AS (INSERT INTO handoff_consumed_assertions (tenant_id, jti, exp) SELECT tenant_id, jti, exp FROM inp
             ON CONFLICT DO NOTHING RETURNING tenant_id, jti),
       c2 AS (INSERT INTO handoff_consumed_assertions (tenant_id, jti, exp) SELECT tenant_id, also, exp FROM inp WHERE also IS NOT NULL
              ON CONFLICT DO NOTHING RETURNING tenant_id, jti)
  SELECT inp.n, c.jti IS NOT NULL AND (inp.also IS NULL OR c2.jti IS NOT NULL) AS consumed, u.*
    FROM inp
    LEFT JOIN c ON c.tenant_id = inp.tenant_id AND c.jti = inp.jti
    LEFT JOIN c2 ON c2.tenant_id = inp.tenant_id AND c2.jti = inp.also
    LEFT JOIN LATERAL (${userByEmailSql('inp.tenant_id', 'inp.email')}) u ON true`;

interface ConsumeKey {
  tenantId: string;
  jti: string;
  exp: number;
  email: string;
  also: string | null;
}

/** The audit events of one way in: its success, its refusals, a replay. */
interface AuditEvents {
  accepted: string;
  denied: string;
  replay: string;
}
const HANDOFF_EVENTS: AuditEvents = { accepted: 'handoff.accepted', denied: 'handoff.denied', replay: 'handoff.replay' };
/**
 * A company sign-in (a SignInSource) is a person signing in at our login page, not a host app
 * handing one over: it is audited as a login (`login.success`, refusals `login.upstream_denied`
 * like the callback's own), so the sign-in metrics, the console's sign-in chart and anyone
 * reading `login.*` see every sign-in once, whichever way the person came in (`details.source`
 * says which).
 */
const LOGIN_EVENTS: AuditEvents = { accepted: 'login.success', denied: 'login.upstream_denied', replay: 'login.upstream_denied' };

/**
 * Host-app hand-off (README, "Host-app hand-off"): a signed, single-use token becomes a
 * session, as a password login would. The token's source (a folder of src/inbound: the HS256
 * assertion, a trusted issuer's token, …) is the first of HANDOFF_SOURCES that recognises its
 * `iss`; it verifies it and says who it names. Order matters:
 *  1. everything that needs no write — size, issuer, signature (the source's keys), times and
 *     id, email, tenant enabled — refused with nothing stored;
 *  2. the token's id (jti, or its hash) is consumed by an INSERT on the (tenant, jti) primary key, committed on its
 *     own: of any number of concurrent uses, on any process, exactly one gets the row;
 *  3. the user (found, or created through UsersService when JIT is on), the prechecks, the
 *     session. A refusal from here on leaves the jti consumed: an assertion that was
 *     presented and refused can never be replayed into a success later.
 */
@Injectable()
export class HandoffService {
  /** The jti claims (with the user lookups); one (tenant, jti) never twice in a statement. */
  private readonly claims = new Batcher<ConsumeKey, { consumed: boolean; user: HandoffUser | null }>((keys) => this.consumeBatch(keys), {
    ...HOT_PATH_BATCHING,
    conflictKey: (k) => `${k.tenantId}\n${k.jti}`,
  });

  constructor(
    private readonly dataSource: DataSource,
    @Inject(HANDOFF_SOURCES) private readonly sources: readonly HandoffSource[],
    private readonly users: UsersService,
    private readonly groups: GroupsService,
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
  ) {}

  /**
   * A refusal: audited (within the anonymous-refusal budget for anything anyone can send),
   * then thrown as the client's error.
   */
  private async refuse(
    input: Pick<HandoffInput, 'meta' | 'target'>,
    reason: HandoffRefusal,
    tenantId: string | null,
    extra: Record<string, unknown> = {},
    events: AuditEvents = HANDOFF_EVENTS,
  ): Promise<never> {
    // Anything anyone can send (no valid signature yet), and an expired assertion (which a
    // captured one becomes, and can be sent forever): audited within the anonymous-refusal
    // budget (AuditService.recordRefusal), so a flood cannot grow the audit table without
    // bound. A refusal of a validly signed, live assertion — a replay included — always.
    const record = UNSIGNED_REFUSALS.has(reason) || reason === 'assertion_expired' ? this.audit.recordRefusal : this.audit.record;
    await record.call(this.audit, input.meta, {
      type: reason === 'replay' ? events.replay : events.denied,
      tenantId,
      details: { reason, ...(input.target ? { target: input.target } : {}), ...extra },
    });
    throw handoffError(reason, reason === 'invalid_claims' ? { problems: extra.problems } : undefined);
  }

  async admit(input: HandoffInput): Promise<HandoffResult> {
    const refuse = (reason: HandoffRefusal, tenantId: string | null, extra: Record<string, unknown> = {}) => this.refuse(input, reason, tenantId, extra);
    const decoded = decodeHandoffToken(input.assertion);
    if (!decoded.ok) return refuse(decoded.reason, null, decoded.detail);
    let identified: Checked<IdentifiedHandoff> | null = null;
    for (const source of this.sources) {
      identified = await source.identify(decoded.value);
      if (identified) break;
    }
    if (!identified) return refuse('unknown_tenant', null, { iss: decoded.value.iss.slice(0, 100) });
    if (!identified.ok) return refuse(identified.reason, identified.tenantId ?? null, identified.detail);
    const { tenant, source } = identified.value;
    const now = Math.floor(Date.now() / 1000);
    const verified = await identified.value.verify(now);
    if (!verified.ok) return refuse(verified.reason, tenant.id, { source, ...verified.detail });
    return this.signIn(input, tenant, source, verified.value);
  }

  /**
   * The rest of a hand-off, once a source verified the token: also the end of a company
   * sign-in (`as: 'login'`: e.g. the ID token from the tenant's own IdP, verified with its
   * nonce by the caller), audited as a login.
   */
  async signIn(
    input: Omit<HandoffInput, 'assertion'>,
    tenant: IdentifiedHandoff['tenant'],
    source: string,
    handoff: VerifiedHandoff,
    as: 'handoff' | 'login' = 'handoff',
  ): Promise<HandoffResult> {
    const { meta } = input;
    const events = as === 'login' ? LOGIN_EVENTS : HANDOFF_EVENTS;
    const refuse = (reason: HandoffRefusal, tenantId: string | null, extra: Record<string, unknown> = {}) => this.refuse(input, reason, tenantId, extra, events);
    const jti = handoff.jti;
    if (tenant.disabled) return refuse('tenant_disabled', tenant.id, { jti });
    const profile = await checkProfile(handoff.profile);
    const email = profile.dto?.email ?? (typeof handoff.profile.email === 'string' ? handoff.profile.email : null);
    if (profile.problem) return refuse(profile.problem, tenant.id, { jti, problems: profile.problems });

    // The jti claim and the user lookup share a round trip; the claim commits on its own
    // whatever follows (step 2 above).
    const found = await this.consumeAndFind(tenant.id, handoff.onceKey, handoff.previousOnceKey ?? null, handoff.exp, email!);
    if (!found.consumed) return refuse('replay', tenant.id, { jti, email });

    let user: HandoffUser | null = found.user;
    if (user?.disabled) return refuse('user_disabled', tenant.id, { jti, userId: user.id });
    if (!user && !handoff.jitProvisioning) return refuse('unknown_user', tenant.id, { jti, email });
    const subject: HandoffSubject = {
      tenant: { id: tenant.id, slug: tenant.slug, name: tenant.name, attributes: tenant.attributes },
      user: user
        ? { id: user.id, email: user.email, firstName: user.firstName, lastName: user.lastName, attributes: user.attributes }
        : { id: '', email: profile.dto!.email, firstName: profile.dto!.firstName ?? '', lastName: profile.dto!.lastName ?? '', attributes: profile.dto!.attributes ?? {} },
    };
    if (input.precheck) await input.precheck(subject);

    const actor = { ...meta, actor: `handoff:${tenant.slug}` };
    let created = false;
    let groupsChanged = false;
    const { groups } = handoff.profile;
    try {
      if (!user) {
        const made = await this.provision(actor, tenant.id, profile.dto!, groups ?? []);
        ({ created } = made);
        user = { id: made.user.id, email: made.user.email, firstName: made.user.firstName, lastName: made.user.lastName, attributes: made.user.attributes, disabled: made.user.disabled };
        groupsChanged = true;
        // Another request created the email's user first (provision found it): it may be disabled.
        if (user.disabled) return refuse('user_disabled', tenant.id, { jti, userId: user.id });
      } else if (handoff.syncGroups && groups) {
        await this.groups.replaceMemberships(actor, tenant.id, user.id, groups);
        groupsChanged = true;
      }
    } catch (e) {
      // The users service's own refusals (e.g. an email domain another tenant owns): the
      // client sees them as they are, the audit trail as a refused hand-off.
      if (e instanceof DomainError && e.status < 500) {
        await this.audit.record(meta, { type: events.denied, tenantId: tenant.id, details: { reason: e.code, jti, email, ...(input.target ? { target: input.target } : {}) } });
      }
      throw e;
    }

    const userId = user.id;
    // Session fixation (OWASP Session Management Cheat Sheet): the session the browser arrived
    // with, whoever's it was, ends; the hand-off gets a fresh id. That, the new session and
    // its audit event are one statement: all or nothing.
    const opened = await this.sessions.open(
      { id: userId, tenantId: tenant.id },
      { ip: meta.ip, userAgent: meta.userAgent },
      source,
      SessionsService.idFromCookie(input.previousCookie),
      {
        type: events.accepted,
        actor: `user:${userId}`,
        ip: meta.ip,
        requestId: meta.requestId,
        details: { userId, email, jti, source, created, ...(input.target ? { target: input.target } : {}) },
      },
    );
    // Disabled (user or tenant) after it was read above: nothing was written; refused as if seen then.
    if ('refused' in opened) return refuse(opened.refused, tenant.id, { jti, userId });
    const session: SessionContext = {
      id: opened.id,
      createdAt: opened.createdAt,
      expiresAt: opened.expiresAt,
      targetsUsed: [],
      user: { id: userId, email: user.email, firstName: user.firstName, lastName: user.lastName, attributes: user.attributes },
      tenant: subject.tenant,
    };
    return { token: opened.token, userId, tenantId: tenant.id, created, session, groupsChanged };
  }

  /**
   * Takes the jti (true when this use took it; false when it was taken already: a replay)
   * and reads the user the email names (null when none), in one statement. The INSERT on the
   * (tenant, jti) primary key is what makes a token good once: of any number of concurrent
   * uses, on any process, exactly one gets the row.
   */
  private consumeAndFind(tenantId: string, jti: string, also: string | null, exp: number, email: string): Promise<{ consumed: boolean; user: HandoffUser | null }> {
    return this.claims.submit({ tenantId, jti, also, exp, email: normaliseEmail(email) });
  }

  /**
   * Concurrent hand-offs' claims share one statement (group commit, src/common/batcher.ts);
   * it commits on its own. A failed batch is retried one claim at a time by the batcher: a
   * claim that committed before its answer was lost then reads as taken (a refusal), never
   * as a second success.
   */
  private async consumeBatch(keys: ConsumeKey[]): Promise<{ consumed: boolean; user: HandoffUser | null }[]> {
    const rows = await namedQuery<{ n: string; consumed: boolean; id: string | null; email: string; first_name: string; last_name: string; attributes: HandoffUser['attributes']; disabled: boolean }>(
      this.dataSource,
      CONSUME_AND_FIND_SQL,
      [keys.map((k) => k.tenantId), keys.map((k) => k.jti), keys.map((k) => k.exp), keys.map((k) => k.email), keys.map((k) => k.also)],
    );
    const out = keys.map(() => ({ consumed: false, user: null as HandoffUser | null }));
    for (const r of rows) {
      out[Number(r.n) - 1] = {
        consumed: r.consumed === true,
        user: r.id ? { id: r.id, email: r.email, firstName: r.first_name, lastName: r.last_name, attributes: r.attributes ?? {}, disabled: r.disabled } : null,
      };
    }
    return out;
  }

  /**
   * Just-in-time: created through UsersService (its rules and audit event, and whatever
   * ownership rules it enforces), groups limited to the tenant's existing ones. A concurrent
   * hand-off of the same new person (another jti) may create them first: then it is theirs.
   */
  private async provision(meta: RequestMeta, tenantId: string, dto: CreateUserDto, groups: string[]): Promise<{ user: User; created: boolean }> {
    const existing = await this.groups.existingNames(tenantId, groups);
    try {
      const { user } = await this.users.create(meta, tenantId, { ...dto, groups: existing });
      return { user, created: true };
    } catch (e) {
      if (e instanceof DomainError && e.code === 'user_email_taken') {
        const user = await this.users.findByEmail(tenantId, dto.email);
        if (user) return { user, created: false };
      }
      throw e;
    }
  }
}

/**
 * The token's profile under the admin API's own rules (CreateUserDto: email, names,
 * attributes), so a hand-off can create nothing an operator could not. Groups are not
 * validated here: only names of the tenant's existing groups are ever used.
 */
async function checkProfile(p: HandoffProfile): Promise<{ dto?: CreateUserDto; problem?: HandoffRefusal; problems?: string[] }> {
  if (typeof p.email !== 'string' || !p.email) return { problem: 'invalid_email' };
  const plain: Record<string, unknown> = { email: p.email };
  if (p.firstName !== undefined) plain.firstName = p.firstName;
  if (p.lastName !== undefined) plain.lastName = p.lastName;
  if (p.attributes !== undefined) plain.attributes = p.attributes;
  const dto = plainToInstance(CreateUserDto, plain);
  const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.some((e) => e.property === 'email')) return { problem: 'invalid_email' };
  if (errors.length) return { problem: 'invalid_claims', problems: errors.flatMap((e) => Object.values(e.constraints ?? {})) };
  return { dto };
}
