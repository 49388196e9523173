import type { EventEmitter } from 'node:events';
import { DataSource, DataSourceOptions, QueryFailedError, ReplicationMode } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';

/**
 * A query runner whose statements fail with the connection's own error once Postgres has
 * dropped its connection.
 *
 * Why: when Postgres ends a connection that sits idle between two statements of a
 * transaction (a shutdown's 57P01 "terminating connection due to administrator command", a
 * restart, a network cut), node-postgres emits 'error' on the client and TypeORM releases the
 * runner there and then (the pool destroys the client: right). The transaction's next
 * statement then fails with TypeORM's "Query runner already released" — no SQLSTATE, no
 * connection error — which reads as a bug of ours and was answered 500 (about one
 * login in a Postgres outage). Here the runner keeps the error and, until its owner releases
 * it, answers every statement with it, as the dead connection itself would have: a
 * QueryFailedError carrying 57P01 / "Connection terminated", i.e. a 503 (isDatabaseUnavailable).
 */
export class PostgresQueryRunnerKeepingCause extends PostgresQueryRunner {
  /** The error the connection failed with, once it has. */
  connectionError: Error | undefined;
  private watched: { client: EventEmitter; onError: (e: Error) => void } | undefined;

  override async connect(): Promise<any> {
    const client = (await super.connect()) as EventEmitter;
    if (!this.watched) {
      // Registered after TypeORM's own listener (super.connect() added it), so it runs after
      // TypeORM has released the client to the pool with the error.
      const onError = (e: Error) => {
        this.connectionError ??= e;
        // Still held by its owner (a transaction, a DataSource.query), who releases it as after
        // any failed statement; TypeORM's release already happened, so that one is a no-op.
        this.isReleased = false;
      };
      client.on('error', onError);
      this.watched = { client, onError };
    }
    return client;
  }

  override async query(query: string, parameters?: any[], useStructuredResult?: boolean): Promise<any> {
    if (this.connectionError) throw new QueryFailedError(query, parameters, this.connectionError);
    return super.query(query, parameters, useStructuredResult);
  }

  override async release(): Promise<void> {
    if (this.watched) {
      this.watched.client.removeListener('error', this.watched.onError);
      this.watched = undefined;
    }
    return super.release();
  }
}

/** A DataSource whose query runners are PostgresQueryRunnerKeepingCause (app, CLI and tests alike). */
export function newDataSource(options: DataSourceOptions): DataSource {
  const ds = new DataSource(options);
  const driver = ds.driver as PostgresDriver;
  // TypeORM has no option for the runner class: its driver's factory method is replaced.
  driver.createQueryRunner = (mode: ReplicationMode) => new PostgresQueryRunnerKeepingCause(driver, mode);
  return ds;
}
