import { Controller, Get, Headers, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '../common/route-protection';
import { DomainError, unauthorized } from '../common/errors';
import { Undocumented } from '../common/openapi';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { safeEqual } from '../crypto/tokens';
import { MetricsError } from './metrics.errors';
import { MetricsService } from './metrics.service';

/**
 * GET /metrics for Prometheus. Not an admin API key (a scraper should not hold one): its own
 * bearer token, METRICS_TOKEN (Prometheus `authorization: { credentials }`). Without
 * METRICS_TOKEN the route answers 404: metrics show traffic, refusal reasons and pool use,
 * and this service faces browsers on the internet, so they are off unless asked for.
 */
@Undocumented('Prometheus text format for a scraper, behind its own METRICS_TOKEN (not the admin API)')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    @InjectConfig('metrics') private readonly metricsConfig: Config<'metrics'>,
  ) {}

  @Public()
  @Get()
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() res: Response): Promise<void> {
    const token = this.metricsConfig.token;
    if (!token) throw new DomainError(MetricsError.MetricsDisabled, 404, 'metrics are disabled (set METRICS_TOKEN to enable them)');
    const given = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? '';
    if (!safeEqual(given, token)) throw unauthorized(MetricsError.Unauthorized, 'METRICS_TOKEN is required (Authorization: Bearer <token>)');
    res.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}
