import { Controller, Delete, Get, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiProperty, ApiTags } from '@nestjs/swagger';
import { AuthenticatedRequest, ScopedTenantId } from '../auth/auth.decorators';
import { UuidParam } from '../common/dto';
import { requestMeta } from '../common/request-meta';
import { TenantScoped } from '../common/route-protection';
import { MfaService } from '../mfa/mfa.service';
import { UsersService } from '../users/users.service';
import { AdminError } from './admin.errors';

class MfaPasskeyDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() createdAt: Date;
  @ApiProperty({ type: Date, nullable: true }) lastUsedAt: Date | null;
}

class MfaStateDto {
  @ApiProperty({ enum: ['off', 'optional', 'required'], description: "The tenant's policy" }) policy: string;
  @ApiProperty({ description: 'An authenticator app (TOTP) is set up and confirmed' }) totp: boolean;
  @ApiProperty({ type: [MfaPasskeyDto] }) passkeys: MfaPasskeyDto[];
  @ApiProperty() recoveryCodesLeft: number;
}

class MfaRemovedDto {
  @ApiProperty({ description: 'Authenticator apps (0 or 1)' }) totp: number;
  @ApiProperty() passkeys: number;
  @ApiProperty() recoveryCodes: number;
}

class MfaResetDto {
  @ApiProperty({ type: MfaRemovedDto, description: 'What was removed' })
  removed: MfaRemovedDto;
}

/** A user's second factors: what is set up (never a secret), and the administrator's reset. */
@ApiTags('users')
@ApiParam({ name: 'tenantId', description: "The tenant's id or slug; a tenant-scoped key may only name its own tenant" })
@TenantScoped()
@Controller('api/v1/tenants/:tenantId/users/:userId/mfa')
export class MfaAdminController {
  constructor(
    private readonly mfa: MfaService,
    private readonly users: UsersService,
  ) {}

  @Get()
  @ApiOperation({ summary: "A user's two-step verification factors (names and dates only)" })
  @ApiOkResponse({ type: MfaStateDto })
  async get(@ScopedTenantId() tenantId: string, @UuidParam('userId', AdminError.UserNotFound) userId: string): Promise<MfaStateDto> {
    await this.users.findById(tenantId, userId);
    const s = await this.mfa.state(userId, tenantId);
    return { policy: s.policy, totp: s.totp, passkeys: s.passkeys, recoveryCodesLeft: s.recoveryCodesLeft };
  }

  @Delete()
  @ApiOperation({ summary: "Remove every second factor of a user (lost phone and codes); audited as mfa.reset. Under a 'required' policy they set one up at their next sign-in" })
  @ApiOkResponse({ type: MfaResetDto })
  async reset(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @UuidParam('userId', AdminError.UserNotFound) userId: string,
  ): Promise<MfaResetDto> {
    await this.users.findById(tenantId, userId);
    return { removed: await this.mfa.reset(requestMeta(req), tenantId, userId) };
  }
}
