import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { PruneRun, pruneInBatches } from '../common/prune';
import { IAT_SEQUENCE_IDLE_SECONDS } from './iat-sequence';

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
  private readonly runs = new PruneRun(new Logger('IssuedTokensPruner'), 'issued tokens');

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
    return pruneInBatches(this.dataSource, { table: 'issued_tokens', key: ['jti'], where: 'exp < $1' }, nowSeconds - marginSeconds);
  }

  /**
   * Deletes iat sequence rows idle for IAT_SEQUENCE_IDLE_SECONDS: their last iat is so far
   * behind the clock that max(now, last + 1) is now, so forgetting them changes nothing.
   */
  async pruneIatSequences(nowSeconds = Math.floor(Date.now() / 1000)): Promise<number> {
    return pruneInBatches(this.dataSource, { table: 'iat_sequences', key: ['scope', 'subject'], where: 'last_iat < $1' }, nowSeconds - IAT_SEQUENCE_IDLE_SECONDS);
  }

  private runScheduled(): Promise<void> {
    return this.runs.run([
      ['expired issued token records', () => this.prune()],
      ['idle iat sequences', () => this.pruneIatSequences()],
    ]);
  }
}
