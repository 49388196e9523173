import { Controller, Get, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Undocumented } from '../../common/openapi';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { CurrentSession } from '../auth.decorators';
import { LoadsSession } from '../../common/route-protection';
import { TenantsService } from '../../tenants/tenants.service';
import { basePathOf } from '../../common/redirects';
import type { SessionContext } from '../auth.types';
import { changePasswordForm } from '../accounts/account-pages';
import { LoginCsrfService } from './login-csrf.service';
import { accountPage, sendPage } from './pages';
import { hasFactor, MfaService } from '../../mfa/mfa.service';

/** The default continuation after login: who you are signed in as, and a way to sign out. */
@Undocumented('HTML account page, for browsers')
@Controller('account')
export class AccountController {
  private readonly basePath: string;

  constructor(
    private readonly tenants: TenantsService,
    private readonly csrf: LoginCsrfService,
    private readonly mfa: MfaService,
    @InjectConfig('app') app: Config<'app'>,
  ) {
    this.basePath = basePathOf(app.publicUrl);
  }

  @LoadsSession()
  @Get()
  async show(@CurrentSession() session: SessionContext | null, @Req() req: Request, @Res() res: Response): Promise<void> {
    if (!session) {
      res.set('Cache-Control', 'no-store').redirect(303, `${this.basePath}/login?next=${encodeURIComponent(`${this.basePath}/account`)}`);
      return;
    }
    const name = `${session.user.firstName} ${session.user.lastName}`.trim();
    const brand = await this.tenants.brandFor({ id: session.tenant.id });
    const mfa = await this.mfa.state(session.user.id, session.tenant.id);
    const extra = changePasswordForm({ basePath: this.basePath, csrf: this.csrf.forSession(session.id), email: session.user.email, done: req.query.changed === '1' });
    sendPage(
      res,
      200,
      accountPage({ basePath: this.basePath, name, email: session.user.email, tenantName: session.tenant.name, brand, extra, mfa: mfa.policy === 'off' ? null : { on: hasFactor(mfa) } }),
    );
  }
}
