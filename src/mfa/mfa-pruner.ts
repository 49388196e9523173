import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { PruneRun, pruneInBatches } from '../common/prune';

const EVERY_MS = 60_000;

/**
 * Forgets pending sign-ins and WebAuthn challenges past their expiry (on the database's clock,
 * the one every process reads them with): an expired row is refused by its expires_at anyway,
 * so it has nothing left to guard.
 */
@Injectable()
export class MfaPruner {
  private readonly runs = new PruneRun(new Logger('MfaPruner'), 'pending sign-ins and WebAuthn challenges');

  constructor(private readonly dataSource: DataSource) {}

  async prune(): Promise<number> {
    const pending = await pruneInBatches(this.dataSource, { table: 'mfa_pending_logins', key: ['id'], where: 'expires_at < now() - make_interval(secs => $1)' }, 0);
    const challenges = await pruneInBatches(this.dataSource, { table: 'mfa_webauthn_challenges', key: ['challenge'], where: 'expires_at < now() - make_interval(secs => $1)' }, 0);
    return pending + challenges;
  }

  @Interval('prune-mfa', EVERY_MS)
  runScheduled(): Promise<void> {
    return this.runs.run([['expired pending sign-ins and WebAuthn challenges', () => this.prune()]]);
  }
}
