import { Controller, Get, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { AuthenticatedRequest, Public, WithSession } from '../auth/auth.decorators';
import { TargetsService } from '../sso/targets.service';
import { TenantsService } from '../tenants/tenants.service';
import { UsersService } from '../users/users.service';
import { ConsoleErrorFilter, ConsoleKit } from './console-kit';
import { overviewPage } from './views/overview';
import { CONSOLE_SCRIPT } from './views/layout';

/** The console's front page, and its one script. */
@ApiExcludeController()
@Controller('console')
@UseFilters(ConsoleErrorFilter)
export class ConsoleController {
  constructor(
    private readonly kit: ConsoleKit,
    private readonly tenants: TenantsService,
    private readonly users: UsersService,
    private readonly targets: TargetsService,
  ) {}

  @Get()
  @WithSession()
  async overview(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    const own = ctx.principal.scope.tenantId;
    const counts = own
      ? { tenants: 1, users: (await this.users.list(own, { limit: 1, offset: 0 })).total, targets: null }
      : { tenants: await this.tenants.count(), users: await this.users.countAll(), targets: (await this.targets.list()).length };
    this.kit.render(ctx, 200, 'Overview', 'overview', overviewPage({ counts }));
  }

  /** Copy buttons (progressive enhancement; CSP script-src 'self'). No data: public. */
  @Get('assets/console.js')
  @Public()
  script(@Res() res: Response): void {
    res.set({ 'Cache-Control': 'public, max-age=300', 'X-Content-Type-Options': 'nosniff' }).type('application/javascript').send(CONSOLE_SCRIPT);
  }
}
