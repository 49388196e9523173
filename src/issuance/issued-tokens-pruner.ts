import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { IAT_SEQUENCE_IDLE_SECONDS } from './iat-sequence';

/** Rows deleted per statement: short transactions, no long lock on a busy table. */
const BATCH = 5000;
/**
 * Kept this long after exp: a token that just expired may still be under investigation
 * (and Sisense allows 5 minutes of clock skew), so records outlive their tokens by an hour.
 */
export const PRUNE_MARGIN_SECONDS = 3600;

/**
 * Deletes expired issued_tokens records every TOKEN_PRUNE_INTERVAL seconds, in batches. The
 * audit trail (sso.token_issued events) keeps the history; this table only has to hold
 * tokens that can still be used.
 */
@Injectable()
export class IssuedTokensPruner implements OnApplicationBootstrap {
  private readonly log = new Logger('IssuedTokensPruner');
  private running = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly scheduler: SchedulerRegistry,
    @InjectConfig('tokens') private readonly tokens: Config<'tokens'>,
  ) {}

  onApplicationBootstrap(): void {
    const handle = setInterval(() => void this.runScheduled(), this.tokens.pruneIntervalSeconds * 1000);
    handle.unref();
    // Registered so ScheduleModule clears it on shutdown.
    this.scheduler.addInterval('prune-issued-tokens', handle);
  }

  /** Deletes records whose exp is older than now - margin; returns how many. */
  async prune(nowSeconds = Math.floor(Date.now() / 1000), marginSeconds = PRUNE_MARGIN_SECONDS): Promise<number> {
    const cutoff = nowSeconds - marginSeconds;
    let total = 0;
    for (;;) {
      const [, count] = (await this.dataSource.query(
        `DELETE FROM issued_tokens WHERE jti IN (SELECT jti FROM issued_tokens WHERE exp < $1 LIMIT ${BATCH})`,
        [cutoff],
      )) as [unknown, number];
      total += count;
      if (count < BATCH) return total;
    }
  }

  /**
   * Deletes iat sequence rows idle for IAT_SEQUENCE_IDLE_SECONDS: their last iat is so far
   * behind the clock that max(now, last + 1) is now, so forgetting them changes nothing.
   */
  async pruneIatSequences(nowSeconds = Math.floor(Date.now() / 1000)): Promise<number> {
    const cutoff = nowSeconds - IAT_SEQUENCE_IDLE_SECONDS;
    let total = 0;
    for (;;) {
      const [, count] = (await this.dataSource.query(
        `DELETE FROM iat_sequences WHERE (scope, subject) IN
           (SELECT scope, subject FROM iat_sequences WHERE last_iat < $1 LIMIT ${BATCH})`,
        [cutoff],
      )) as [unknown, number];
      total += count;
      if (count < BATCH) return total;
    }
  }

  private async runScheduled(): Promise<void> {
    if (this.running) return; // a slow run is not overtaken by the next tick
    this.running = true;
    try {
      const n = await this.prune();
      if (n) this.log.log(`pruned ${n} expired issued token records`);
      const m = await this.pruneIatSequences();
      if (m) this.log.log(`pruned ${m} idle iat sequences`);
    } catch (err) {
      this.log.error({ err }, 'pruning issued tokens failed');
    } finally {
      this.running = false;
    }
  }
}
