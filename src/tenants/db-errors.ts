import { QueryFailedError } from 'typeorm';

/** True when `e` is Postgres' unique_violation (23505) on the named constraint or index. */
export function isUniqueViolation(e: unknown, constraint: string): boolean {
  if (!(e instanceof QueryFailedError)) return false;
  const pg = e.driverError as { code?: string; constraint?: string };
  return pg.code === '23505' && pg.constraint === constraint;
}
