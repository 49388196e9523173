import { DomainError } from '../common/errors';
import { SsoError } from '../catalog/sso.errors';

/**
 * The iat step as SQL, so the SSO flow can put it in the statement that records the tokens
 * and keep Sisense to one write round trip (src/issuance/token-record.ts).
 *
 * Why this shape: Sisense denies a token whose iat is the same as or earlier than the one of
 * the user's previous session, so iat = max(now, last + 1). INSERT .. ON CONFLICT DO UPDATE
 * locks the row and, under READ COMMITTED, re-reads the latest committed last_iat before
 * computing the new one, so concurrent logins of one user — from any number of service
 * processes — are serialised on that row and never share or reverse an iat. Using `now`
 * whenever the clock is ahead keeps iat on the clock in normal use; a burst of N logins of
 * one user within a second runs N seconds ahead.
 *
 * The lead is capped: Sisense also refuses an iat more than 5 minutes from its clock, so a
 * subject signing in faster than once a second for minutes (a shared "one account per
 * client" used by many people) would otherwise be handed tokens Sisense rejects, for as long
 * as the lead lasts. When last + 1 would be more than MAX_IAT_LEAD_SECONDS ahead, the upsert
 * changes nothing and returns no row; the caller refuses (429) instead of minting.
 */
export const MAX_IAT_LEAD_SECONDS = 240;

/**
 * The part of that lead one session may hold (HandshakeLimiter): a quarter, so however fast
 * one session signs in, the others of a shared account still find room under the cap.
 */
export const MAX_IAT_SHARE_SECONDS = MAX_IAT_LEAD_SECONDS / 4;

const IAT_UPSERT_RULE = `ON CONFLICT (scope, subject)
          DO UPDATE SET last_iat = GREATEST(EXCLUDED.last_iat, iat_sequences.last_iat + 1)
          WHERE iat_sequences.last_iat + 1 <= EXCLUDED.last_iat + ${MAX_IAT_LEAD_SECONDS}`;

/**
 * For a batch of tokens (the recording statement, token-record.ts): `select` yields
 * (scope, subject, now) rows, at most one per (scope, subject) — a statement cannot update one
 * row twice, so the batcher never puts two tokens of one subject in one batch.
 * Returns (scope, subject, last_iat) for each row that advanced.
 */
export function iatSequenceBatchSql(select: string): string {
  return `INSERT INTO iat_sequences (scope, subject, last_iat) ${select}
          ${IAT_UPSERT_RULE}
          RETURNING scope, subject, last_iat`;
}

/** The refusal when a subject's iat sequence is as far ahead of the clock as allowed. */
export function iatSequenceAhead(): DomainError {
  return new DomainError(
    SsoError.TooManySignIns,
    429,
    'Too many sign-ins for this account in a short time; try again in a minute',
  );
}

/** The identity the sequence is kept for (subject column is varchar(254), like an email). */
export function iatSubjectKey(subject: string): string {
  return subject.toLowerCase().slice(0, 254);
}

/**
 * Rows whose last iat is well behind the clock decide nothing any more (max(now, last + 1)
 * is now): deletable, so the table holds only users active in the last few minutes.
 */
export const IAT_SEQUENCE_IDLE_SECONDS = 600;
