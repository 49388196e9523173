import { QueryFailedError } from 'typeorm';

/**
 * True when `e` is Postgres' unique_violation (23505) on the named constraint or index: from
 * TypeORM (QueryFailedError) or straight from the pg driver (namedQuery).
 */
export function isUniqueViolation(e: unknown, constraint: string): boolean {
  const pg = (e instanceof QueryFailedError ? e.driverError : e) as { code?: string; constraint?: string } | null;
  return typeof pg === 'object' && pg !== null && pg.code === '23505' && pg.constraint === constraint;
}

/** True when `e` is Postgres' foreign_key_violation (23503): the row referenced is not there. */
export function isForeignKeyViolation(e: unknown): boolean {
  return e instanceof QueryFailedError && (e.driverError as { code?: string }).code === '23503';
}

/**
 * The RETURNING rows of an UPDATE run through DataSource/EntityManager.query: TypeORM's
 * postgres driver answers UPDATE and DELETE with `[rows, affectedCount]`, not the rows.
 */
export function updatedRows<T = Record<string, unknown>>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as T[];
  }
  return Array.isArray(result) ? (result as T[]) : [];
}
