import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from './db-unavailable';

/** What each failure looks like as node-postgres and TypeORM report it (pg 8, TypeORM 0.3). */
const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });
const wrapped = (driverError: Error) => new QueryFailedError('SELECT 1', [], driverError);

describe('isDatabaseUnavailable', () => {
  it.each([
    ['shutdown: terminating connection due to administrator command', wrapped(pgError('57P01'))],
    ['the database system is starting up', pgError('57P03')],
    ['too many connections', pgError('53300')],
    ['connection refused', pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['both addresses refused (Node happy eyeballs)', Object.assign(new AggregateError([pgError('ECONNREFUSED')], ''), {})],
    ['socket dropped', wrapped(new Error('Connection terminated unexpectedly'))],
    ['pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['client connect timeout', new Error('Connection terminated due to connection timeout', { cause: new Error('timeout expired') })],
    ['query on a failed client', wrapped(new Error('Client has encountered a connection error and is not queryable'))],
    ['query on a closed client', wrapped(new Error('Client was closed and is not queryable'))],
    ['query_timeout passed', wrapped(new Error('Query read timeout'))],
  ])('%s: unavailable (503)', (_name, e) => {
    expect(isDatabaseUnavailable(e)).toBe(true);
  });

  it.each([
    ['unique violation', wrapped(pgError('23505'))],
    ['syntax error', wrapped(pgError('42601'))],
    ['a programming error', new TypeError('x is undefined')],
    ['not an error', 'Connection terminated'],
    ['nothing', undefined],
  ])('%s: not unavailable', (_name, e) => {
    expect(isDatabaseUnavailable(e)).toBe(false);
  });
});
