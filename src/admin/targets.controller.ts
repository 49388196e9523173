import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AdminApi, AuthenticatedRequest, Principal } from '../auth/auth.decorators';
import type { AdminPrincipal } from '../auth/auth.types';
import { requestMeta } from '../common/request-meta';
import { TargetsService } from '../sso/targets.service';
import { UuidParam } from '../tenants/dto/common.dto';
import { CreateTargetDto, TargetDto, TargetListDto, UpdateTargetDto } from './dto/target.dto';
import { requireGlobalKey } from './scope';

/** BI targets are shared by every tenant: only a global key manages them. */
@ApiTags('targets')
@AdminApi()
@Controller('api/v1/targets')
export class TargetsController {
  constructor(private readonly targets: TargetsService) {}

  @Post()
  @ApiCreatedResponse({ type: TargetDto })
  create(@Principal() p: AdminPrincipal, @Req() req: AuthenticatedRequest, @Body() body: CreateTargetDto): Promise<TargetDto> {
    requireGlobalKey(p);
    return this.targets.create(requestMeta(req), body);
  }

  @Get()
  @ApiOkResponse({ type: TargetListDto })
  async list(@Principal() p: AdminPrincipal): Promise<TargetListDto> {
    requireGlobalKey(p);
    return { items: await this.targets.list() };
  }

  @Get(':id')
  @ApiOkResponse({ type: TargetDto })
  get(@Principal() p: AdminPrincipal, @UuidParam('id', 'target') id: string): Promise<TargetDto> {
    requireGlobalKey(p);
    return this.targets.get(id);
  }

  @Patch(':id')
  @ApiOkResponse({ type: TargetDto })
  update(
    @Principal() p: AdminPrincipal,
    @Req() req: AuthenticatedRequest,
    @UuidParam('id', 'target') id: string,
    @Body() body: UpdateTargetDto,
  ): Promise<TargetDto> {
    requireGlobalKey(p);
    return this.targets.update(requestMeta(req), id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted, with its access grants' })
  async remove(@Principal() p: AdminPrincipal, @Req() req: AuthenticatedRequest, @UuidParam('id', 'target') id: string): Promise<void> {
    requireGlobalKey(p);
    await this.targets.remove(requestMeta(req), id);
  }
}
