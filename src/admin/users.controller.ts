import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Put, Query, Req } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { TenantScoped } from '../common/route-protection';
import { AuthenticatedRequest, ScopedTenantId } from '../auth/auth.decorators';
import { ApiErrors } from '../common/openapi';
import { requestMeta } from '../common/request-meta';
import { UuidParam } from '../common/dto';
import {
  CreateUserDto,
  ListUsersQueryDto,
  SetPasswordDto,
  toUserDetailDto,
  toUserDto,
  UpdateUserDto,
  UserDetailDto,
  UserPageDto,
} from '../users/dto/user.dto';
import { UsersService } from '../users/users.service';
import { AdminError } from './admin.errors';

@ApiTags('users')
@ApiParam({ name: 'tenantId', description: "The tenant's id or slug; a tenant-scoped key may only name its own tenant" })
@TenantScoped()
@Controller('api/v1/tenants/:tenantId/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiOperation({ summary: 'Create a user (optionally with a password and group memberships)' })
  @ApiCreatedResponse({ type: UserDetailDto })
  @ApiErrors({ 409: 'A user with this email exists in the tenant, or another tenant owns its email domain' })
  async create(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @Body() body: CreateUserDto,
  ): Promise<UserDetailDto> {
    const { user, groups } = await this.users.create(requestMeta(req), tenantId, body);
    return toUserDetailDto(user, groups);
  }

  @Get()
  @ApiOperation({ summary: 'List users, optionally searching by email' })
  @ApiOkResponse({ type: UserPageDto })
  async list(
    @ScopedTenantId() tenantId: string,
    @Query() query: ListUsersQueryDto,
  ): Promise<UserPageDto> {
    const { items, total } = await this.users.list(tenantId, query);
    return { items: items.map(toUserDto), total, limit: query.limit, offset: query.offset };
  }

  @Get(':userId')
  @ApiOperation({ summary: 'Get a user with their group names' })
  @ApiOkResponse({ type: UserDetailDto })
  async get(
    @ScopedTenantId() tenantId: string,
    @UuidParam('userId', AdminError.UserNotFound) userId: string,
  ): Promise<UserDetailDto> {
    const user = await this.users.findById(tenantId, userId);
    return toUserDetailDto(user, await this.users.groupNamesOf(tenantId, userId));
  }

  @Patch(':userId')
  @ApiOperation({ summary: 'Update a user (disabling them ends their sessions)' })
  @ApiOkResponse({ type: UserDetailDto })
  async update(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @UuidParam('userId', AdminError.UserNotFound) userId: string,
    @Body() body: UpdateUserDto,
  ): Promise<UserDetailDto> {
    const user = await this.users.update(requestMeta(req), tenantId, userId, body);
    return toUserDetailDto(user, await this.users.groupNamesOf(tenantId, userId));
  }

  @Put(':userId/password')
  @HttpCode(204)
  @ApiOperation({ summary: "Set a user's password (12-256 characters); ends their sessions" })
  @ApiNoContentResponse()
  async setPassword(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @UuidParam('userId', AdminError.UserNotFound) userId: string,
    @Body() body: SetPasswordDto,
  ): Promise<void> {
    await this.users.setPassword(requestMeta(req), tenantId, userId, body.password);
  }

  /** Same as PUT, for clients that can only POST. */
  @Post(':userId/password')
  @HttpCode(204)
  @ApiOperation({ summary: "Set a user's password (same as PUT)" })
  @ApiNoContentResponse()
  setPasswordPost(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @UuidParam('userId', AdminError.UserNotFound) userId: string,
    @Body() body: SetPasswordDto,
  ): Promise<void> {
    return this.setPassword(req, tenantId, userId, body);
  }

  @Delete(':userId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user (their memberships and sessions go too)' })
  @ApiNoContentResponse()
  async remove(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @UuidParam('userId', AdminError.UserNotFound) userId: string,
  ): Promise<void> {
    await this.users.remove(requestMeta(req), tenantId, userId);
  }
}
