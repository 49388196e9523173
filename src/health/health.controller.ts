import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../common/route-protection';
import { ShutdownState } from './shutdown';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly shutdown: ShutdownState,
  ) {}

  /** The process answers: no dependency checked (a liveness probe must not restart us for a DB blip). */
  @Public()
  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready to serve: Postgres answers and we are not shutting down. 503 while either fails. */
  @Public()
  @Get('ready')
  @HealthCheck()
  ready() {
    if (this.shutdown.draining) {
      // Same shape as a failed Terminus check, so a load balancer reads one format.
      throw new ServiceUnavailableException({ status: 'error', details: { process: { status: 'down', reason: 'shutting down' } } });
    }
    return this.health.check([() => this.db.pingCheck('database', { timeout: 1500 })]);
  }
}
