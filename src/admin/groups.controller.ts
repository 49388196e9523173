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
import { PageQueryDto, UuidParam } from '../common/dto';
import { GroupDto, GroupListDto, GroupNameDto, GroupPageDto, toGroupDto } from '../users/dto/group.dto';
import { toUserDto, UserPageDto } from '../users/dto/user.dto';
import { GroupsService } from '../users/groups.service';
import { AdminError } from './admin.errors';

@ApiTags('groups')
@ApiParam({ name: 'tenantId', description: "The tenant's id or slug; a tenant-scoped key may only name its own tenant" })
@TenantScoped()
@Controller('api/v1/tenants/:tenantId')
export class GroupsController {
  constructor(private readonly groups: GroupsService) {}

  @Post('groups')
  @ApiOperation({ summary: 'Create a group' })
  @ApiCreatedResponse({ type: GroupDto })
  @ApiErrors({ 409: 'A group with this name exists in the tenant' })
  async create(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @Body() body: GroupNameDto,
  ): Promise<GroupDto> {
    return toGroupDto(await this.groups.create(requestMeta(req), tenantId, body.name));
  }

  @Get('groups')
  @ApiOperation({ summary: "List the tenant's groups" })
  @ApiOkResponse({ type: GroupPageDto })
  async list(
    @ScopedTenantId() tenantId: string,
    @Query() page: PageQueryDto,
  ): Promise<GroupPageDto> {
    const { items, total } = await this.groups.list(tenantId, page);
    return { items: items.map(toGroupDto), total, limit: page.limit, offset: page.offset };
  }

  @Get('groups/:groupId')
  @ApiOperation({ summary: 'Get a group' })
  @ApiOkResponse({ type: GroupDto })
  async get(
    @ScopedTenantId() tenantId: string,
    @UuidParam('groupId', AdminError.GroupNotFound) groupId: string,
  ): Promise<GroupDto> {
    return toGroupDto(await this.groups.findById(tenantId, groupId));
  }

  @Patch('groups/:groupId')
  @ApiOperation({ summary: "Rename a group (the tenant's group mappings follow the new name)" })
  @ApiErrors({ 409: 'A group with this name exists in the tenant' })
  @ApiOkResponse({ type: GroupDto })
  async rename(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @UuidParam('groupId', AdminError.GroupNotFound) groupId: string,
    @Body() body: GroupNameDto,
  ): Promise<GroupDto> {
    return toGroupDto(await this.groups.rename(requestMeta(req), tenantId, groupId, body.name));
  }

  @Delete('groups/:groupId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a group and its memberships' })
  @ApiNoContentResponse()
  async remove(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @UuidParam('groupId', AdminError.GroupNotFound) groupId: string,
  ): Promise<void> {
    await this.groups.remove(requestMeta(req), tenantId, groupId);
  }

  @Get('groups/:groupId/members')
  @ApiOperation({ summary: "List a group's members" })
  @ApiOkResponse({ type: UserPageDto })
  async members(
    @ScopedTenantId() tenantId: string,
    @UuidParam('groupId', AdminError.GroupNotFound) groupId: string,
    @Query() page: PageQueryDto,
  ): Promise<UserPageDto> {
    const { items, total } = await this.groups.members(tenantId, groupId, page);
    return { items: items.map(toUserDto), total, limit: page.limit, offset: page.offset };
  }

  @Put('groups/:groupId/members/:userId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Add a user to a group (idempotent)' })
  @ApiNoContentResponse()
  async addMember(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @UuidParam('groupId', AdminError.GroupNotFound) groupId: string,
    @UuidParam('userId', AdminError.UserNotFound) userId: string,
  ): Promise<void> {
    await this.groups.addMember(requestMeta(req), tenantId, groupId, userId);
  }

  @Delete('groups/:groupId/members/:userId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a user from a group' })
  @ApiNoContentResponse()
  async removeMember(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @UuidParam('groupId', AdminError.GroupNotFound) groupId: string,
    @UuidParam('userId', AdminError.UserNotFound) userId: string,
  ): Promise<void> {
    await this.groups.removeMember(requestMeta(req), tenantId, groupId, userId);
  }

  @Get('users/:userId/groups')
  @ApiOperation({ summary: "List a user's groups" })
  @ApiOkResponse({ type: GroupListDto })
  async groupsOfUser(
    @ScopedTenantId() tenantId: string,
    @UuidParam('userId', AdminError.UserNotFound) userId: string,
  ): Promise<GroupListDto> {
    return { items: (await this.groups.groupsOfUser(tenantId, userId)).map(toGroupDto) };
  }
}
