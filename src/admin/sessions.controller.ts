import { Controller, Delete, Get, HttpCode, Param, Req } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiParam, ApiTags } from '@nestjs/swagger';
import { TenantScoped } from '../common/route-protection';
import { AuthenticatedRequest, ScopedTenantId } from '../auth/auth.decorators';
import { SessionsService, SessionSummary } from '../auth/sessions.service';
import { notFound } from '../common/errors';
import { requestMeta } from '../common/request-meta';
import { UuidParam } from '../common/dto';
import { UsersService } from '../users/users.service';
import { AdminError } from './admin.errors';

class SessionDto {
  @ApiProperty({ description: 'SHA-256 of the cookie token: identifies the session, cannot be used as one' })
  id: string;
  @ApiProperty() createdAt: Date;
  @ApiProperty() lastSeenAt: Date;
  @ApiProperty({ description: 'Absolute expiry (SESSION_ABSOLUTE_TIMEOUT after login)' }) expiresAt: Date;
  @ApiPropertyOptional({ nullable: true, type: String }) ip: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) userAgent: string | null;
}

class SessionListDto {
  @ApiProperty({ type: [SessionDto] })
  items: SessionDto[];
}

class RevokedDto {
  @ApiProperty({ description: 'How many live sessions were ended' })
  revoked: number;
}

/** A session id in a path: the 64 hex characters of its SHA-256, else the same 404 as an unknown one. */
const SESSION_ID = /^[0-9a-f]{64}$/;

/** A user's live browser sessions: list them, end one, end all. */
@ApiTags('sessions')
@ApiParam({ name: 'tenantId', description: "The tenant's id or slug; a tenant-scoped key may only name its own tenant" })
@TenantScoped()
@Controller('api/v1/tenants/:tenantId/users/:userId/sessions')
export class SessionsController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly users: UsersService,
  ) {}

  @Get()
  @ApiOperation({ summary: "List a user's live sessions" })
  @ApiOkResponse({ type: SessionListDto })
  async list(
    @ScopedTenantId() tenantId: string,
    @UuidParam('userId', AdminError.UserNotFound) userId: string,
  ): Promise<SessionListDto> {
    await this.users.findById(tenantId, userId);
    const items: SessionSummary[] = await this.sessions.listForUser(tenantId, userId);
    return { items };
  }

  @Delete(':sessionId')
  @HttpCode(204)
  @ApiOperation({ summary: 'End one session of the user (audited as session.revoked)' })
  @ApiNoContentResponse()
  async revokeOne(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @UuidParam('userId', AdminError.UserNotFound) userId: string,
    @Param('sessionId') sessionId: string,
  ): Promise<void> {
    await this.users.findById(tenantId, userId);
    if (!SESSION_ID.test(sessionId)) throw notFound(AdminError.SessionNotFound);
    await this.sessions.revokeByAdmin(requestMeta(req), tenantId, userId, sessionId);
  }

  @Delete()
  @ApiOperation({ summary: 'End every session of the user (audited as session.revoked)' })
  @ApiOkResponse({ type: RevokedDto })
  async revokeAll(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @UuidParam('userId', AdminError.UserNotFound) userId: string,
  ): Promise<RevokedDto> {
    await this.users.findById(tenantId, userId);
    return { revoked: await this.sessions.revokeByAdmin(requestMeta(req), tenantId, userId) };
  }
}
