import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Put, Query, Req } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AdminApi, AuthenticatedRequest, Principal } from '../auth/auth.decorators';
import type { AdminPrincipal } from '../auth/auth.types';
import { requestMeta } from '../common/request-meta';
import { UuidParam } from '../tenants/dto/common.dto';
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
import { assertTenantInScope } from './scope';

@ApiTags('users')
@AdminApi()
@Controller('api/v1/tenants/:tenantId/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiOperation({ summary: 'Create a user (optionally with a password and group memberships)' })
  @ApiCreatedResponse({ type: UserDetailDto })
  async create(
    @Principal() principal: AdminPrincipal,
    @Req() req: AuthenticatedRequest,
    @UuidParam('tenantId', 'tenant') tenantId: string,
    @Body() body: CreateUserDto,
  ): Promise<UserDetailDto> {
    assertTenantInScope(principal, tenantId);
    const { user, groups } = await this.users.create(requestMeta(req), tenantId, body);
    return toUserDetailDto(user, groups);
  }

  @Get()
  @ApiOperation({ summary: 'List users, optionally searching by email' })
  @ApiOkResponse({ type: UserPageDto })
  async list(
    @Principal() principal: AdminPrincipal,
    @UuidParam('tenantId', 'tenant') tenantId: string,
    @Query() query: ListUsersQueryDto,
  ): Promise<UserPageDto> {
    assertTenantInScope(principal, tenantId);
    const { items, total } = await this.users.list(tenantId, query);
    return { items: items.map(toUserDto), total, limit: query.limit, offset: query.offset };
  }

  @Get(':userId')
  @ApiOperation({ summary: 'Get a user with their group names' })
  @ApiOkResponse({ type: UserDetailDto })
  async get(
    @Principal() principal: AdminPrincipal,
    @UuidParam('tenantId', 'tenant') tenantId: string,
    @UuidParam('userId', 'user') userId: string,
  ): Promise<UserDetailDto> {
    assertTenantInScope(principal, tenantId);
    const user = await this.users.findById(tenantId, userId);
    return toUserDetailDto(user, await this.users.groupNamesOf(tenantId, userId));
  }

  @Patch(':userId')
  @ApiOperation({ summary: 'Update a user (disabling them ends their sessions)' })
  @ApiOkResponse({ type: UserDetailDto })
  async update(
    @Principal() principal: AdminPrincipal,
    @Req() req: AuthenticatedRequest,
    @UuidParam('tenantId', 'tenant') tenantId: string,
    @UuidParam('userId', 'user') userId: string,
    @Body() body: UpdateUserDto,
  ): Promise<UserDetailDto> {
    assertTenantInScope(principal, tenantId);
    const user = await this.users.update(requestMeta(req), tenantId, userId, body);
    return toUserDetailDto(user, await this.users.groupNamesOf(tenantId, userId));
  }

  @Put(':userId/password')
  @HttpCode(204)
  @ApiOperation({ summary: "Set a user's password (12-256 characters); ends their sessions" })
  @ApiNoContentResponse()
  async setPassword(
    @Principal() principal: AdminPrincipal,
    @Req() req: AuthenticatedRequest,
    @UuidParam('tenantId', 'tenant') tenantId: string,
    @UuidParam('userId', 'user') userId: string,
    @Body() body: SetPasswordDto,
  ): Promise<void> {
    assertTenantInScope(principal, tenantId);
    await this.users.setPassword(requestMeta(req), tenantId, userId, body.password);
  }

  /** Same as PUT, for clients that can only POST. */
  @Post(':userId/password')
  @HttpCode(204)
  @ApiOperation({ summary: "Set a user's password (same as PUT)" })
  @ApiNoContentResponse()
  setPasswordPost(
    @Principal() principal: AdminPrincipal,
    @Req() req: AuthenticatedRequest,
    @UuidParam('tenantId', 'tenant') tenantId: string,
    @UuidParam('userId', 'user') userId: string,
    @Body() body: SetPasswordDto,
  ): Promise<void> {
    return this.setPassword(principal, req, tenantId, userId, body);
  }

  @Delete(':userId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user (their memberships and sessions go too)' })
  @ApiNoContentResponse()
  async remove(
    @Principal() principal: AdminPrincipal,
    @Req() req: AuthenticatedRequest,
    @UuidParam('tenantId', 'tenant') tenantId: string,
    @UuidParam('userId', 'user') userId: string,
  ): Promise<void> {
    assertTenantInScope(principal, tenantId);
    await this.users.remove(requestMeta(req), tenantId, userId);
  }
}
