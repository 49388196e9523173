import type { DataSource } from 'typeorm';
import { iatSequenceAhead, iatSequenceBatchSql, iatSubjectKey } from '../../src/issuance/iat-sequence';

/** The production step (iatSequenceBatchSql) for a batch of one. */
const NEXT_SQL = iatSequenceBatchSql('SELECT $1::varchar, $2::varchar, $3::bigint');

export interface IatSequence {
  /** The next iat for this scope and subject: max(nowSeconds, last + 1), in one statement. */
  next(scope: string, subject: string, nowSeconds: number): Promise<number>;
}

/**
 * The Sisense iat step (iatSequenceBatchSql) run on its own, for specs of the sequence itself.
 * Production runs it only inside the token record statement (src/issuance/token-record.ts, see
 * test/medium/token-record.medium-spec.ts); this runs the same SQL with the same scope and subject
 * keys, and refuses the same way (too_many_sign_ins, 429) when the sequence is too far ahead.
 */
export function iatSequence(ds: DataSource): IatSequence {
  return {
    async next(scope, subject, nowSeconds) {
      if (!Number.isSafeInteger(nowSeconds) || nowSeconds < 0) throw new Error(`nowSeconds must be whole epoch seconds (got ${nowSeconds})`);
      const rows: { last_iat: string }[] = await ds.query(NEXT_SQL, [scope.slice(0, 600), iatSubjectKey(subject), nowSeconds]);
      if (!rows.length) throw iatSequenceAhead();
      return Number(rows[0].last_iat);
    },
  };
}
