import { Body, Controller, Delete, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AuthenticatedRequest, ScopedTenantId } from '../auth/auth.decorators';
import { AccountsError, AccountsService } from '../auth/accounts/accounts.service';
import { UuidParam } from '../common/dto';
import { ApiErrors } from '../common/openapi';
import { requestMeta } from '../common/request-meta';
import { TenantScoped } from '../common/route-protection';
import { CreateInvitationDto, InvitationDto } from './dto/invitation.dto';

@ApiTags('invitations')
@ApiParam({ name: 'tenantId', description: "The tenant's id or slug; a tenant-scoped key may only name its own tenant" })
@TenantScoped()
@Controller('api/v1/tenants/:tenantId/invitations')
export class InvitationsController {
  constructor(private readonly accounts: AccountsService) {}

  @Post()
  @ApiOperation({ summary: 'Invite an email: a single-use link (72 h) to set a password, by mail (or returned when no mail is configured)' })
  @ApiCreatedResponse({ type: InvitationDto })
  @ApiErrors({ 409: 'The user already has a password, another tenant owns the email domain, or the tenant has turned password sign-in off (password_sign_in_off)' })
  invite(@Req() req: AuthenticatedRequest, @ScopedTenantId() tenantId: string, @Body() body: CreateInvitationDto): Promise<InvitationDto> {
    return this.accounts.invite(requestMeta(req), tenantId, body);
  }

  @Get()
  @ApiOperation({ summary: 'Open invitations (not used, withdrawn or expired)' })
  @ApiOkResponse({ type: [InvitationDto] })
  list(@ScopedTenantId() tenantId: string): Promise<InvitationDto[]> {
    return this.accounts.openInvitations(tenantId);
  }

  @Delete(':invitationId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Withdraw an open invitation (its link stops working)' })
  @ApiNoContentResponse()
  revoke(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @UuidParam('invitationId', AccountsError.InvitationNotFound) invitationId: string,
  ): Promise<void> {
    return this.accounts.revokeInvitation(requestMeta(req), tenantId, invitationId);
  }
}
