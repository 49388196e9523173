import { Controller, Get, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Response } from 'express';
import { CreateInvitationDto } from '../admin/dto/invitation.dto';
import { AuthenticatedRequest } from '../auth/auth.decorators';
import { AccountsService } from '../auth/accounts/accounts.service';
import { Undocumented } from '../common/openapi';
import { LoadsSession } from '../common/route-protection';
import { MailService } from '../mail/mail.service';
import { TenantsService } from '../tenants/tenants.service';
import { ConsoleCtx, ConsoleErrorFilter, ConsoleKit, formErrorFrom, pick, refusalStatus, validateAs } from './console-kit';
import { invitationsPage } from './views/invitations';
import type { FormState } from './views/forms';

const FIELDS = ['email', 'firstName', 'lastName', 'role'];

/** Invitations of one tenant (the admin API's, under the same scope rule): invite, see the open ones, withdraw. */
@Undocumented('HTML operator console, for browsers')
@Controller('console/tenants/:tenantId/invitations')
@LoadsSession()
@UseFilters(ConsoleErrorFilter)
export class ConsoleInvitationsController {
  constructor(
    private readonly kit: ConsoleKit,
    private readonly accounts: AccountsService,
    private readonly tenants: TenantsService,
    private readonly mail: MailService,
  ) {}

  @Get()
  async show(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    await this.render(ctx, 200, this.kit.scopedTenantId(ctx, raw), { values: {}, errors: {} }, null);
  }

  @Post()
  async invite(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const values = pick(req.body, FIELDS);
    const input = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ''));
    const { value, errors } = await validateAs(CreateInvitationDto, input);
    if (errors) return this.render(ctx, 400, tenantId, { values, errors }, null);
    try {
      const made = await this.accounts.invite(ctx.meta, tenantId, value);
      // Without mail the link is shown on this answer only (never in a URL, never stored in clear).
      if (made.link) return this.render(ctx, 201, tenantId, { values: {}, errors: {} }, { email: made.email, url: made.link });
      this.kit.redirect(ctx, `/console/tenants/${tenantId}/invitations`, 'invitation-sent');
    } catch (e) {
      await this.render(ctx, refusalStatus(e), tenantId, formErrorFrom(e, values, FIELDS), null);
    }
  }

  @Post(':invitationId/revoke')
  async revoke(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('invitationId') id: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const open = await this.accounts.openInvitations(tenantId);
    if (open.some((i) => i.id === id)) await this.accounts.revokeInvitation(ctx.meta, tenantId, id);
    this.kit.redirect(ctx, `/console/tenants/${tenantId}/invitations`, 'invitation-withdrawn');
  }

  private async render(ctx: ConsoleCtx, status: number, tenantId: string, form: FormState, link: { email: string; url: string } | null): Promise<void> {
    const tenant = await this.tenants.findById(tenantId);
    const open = await this.accounts.openInvitations(tenantId);
    this.kit.render(ctx, status, `Invitations · ${tenant.name}`, 'tenants', invitationsPage({ base: ctx.base, csrf: ctx.chrome.csrf, tenant, form, open, link, mailMode: this.mail.mode }));
  }
}
