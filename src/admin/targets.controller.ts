import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiParam, ApiTags } from '@nestjs/swagger';
import { GlobalOnly } from '../common/route-protection';
import { AuthenticatedRequest } from '../auth/auth.decorators';
import { ApiErrors } from '../common/openapi';
import { requestMeta } from '../common/request-meta';
import { TargetsService } from '../catalog/targets.service';
import { TargetKeysService } from '../catalog/target-keys';
import { CreateTargetDto, TargetDto, TargetKeyDto, TargetKeyListDto, TargetListDto, UpdateTargetDto } from './dto/target.dto';
import { TargetRef } from './scope';

/** BI targets are shared by every tenant: only a global key manages them. */
@ApiTags('targets')
@GlobalOnly()
@Controller('api/v1/targets')
export class TargetsController {
  constructor(
    private readonly targets: TargetsService,
    private readonly keys: TargetKeysService,
  ) {}

  @Post()
  @ApiCreatedResponse({ type: TargetDto })
  @ApiErrors({ 409: 'A target with this slug exists' })
  create(@Req() req: AuthenticatedRequest, @Body() body: CreateTargetDto): Promise<TargetDto> {
    return this.targets.create(requestMeta(req), body);
  }

  @Get()
  @ApiOkResponse({ type: TargetListDto })
  async list(): Promise<TargetListDto> {
    return { items: await this.targets.list() };
  }

  @Get(':id')
  @ApiParam({ name: 'id', description: "The target's id or slug" })
  @ApiOkResponse({ type: TargetDto })
  get(@TargetRef('id') id: string): Promise<TargetDto> {
    return this.targets.get(id);
  }

  @Patch(':id')
  @ApiParam({ name: 'id', description: "The target's id or slug" })
  @ApiErrors({ 409: 'A target with this slug exists' })
  @ApiOkResponse({ type: TargetDto })
  update(
    @Req() req: AuthenticatedRequest,
    @TargetRef('id') id: string,
    @Body() body: UpdateTargetDto,
  ): Promise<TargetDto> {
    return this.targets.update(requestMeta(req), id, body);
  }

  @Delete(':id')
  @ApiParam({ name: 'id', description: "The target's id or slug" })
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted, with its access grants' })
  async remove(@Req() req: AuthenticatedRequest, @TargetRef('id') id: string): Promise<void> {
    await this.targets.remove(requestMeta(req), id);
  }

  @Get(':id/keys')
  @ApiParam({ name: 'id', description: "The target's id or slug" })
  @ApiOkResponse({ type: TargetKeyListDto, description: 'Its signing key pairs, newest first (empty for a product signing with a shared secret)' })
  async listKeys(@TargetRef('id') id: string): Promise<TargetKeyListDto> {
    return { items: await this.keys.list(id) };
  }

  @Post(':id/keys/rotate')
  @ApiParam({ name: 'id', description: "The target's id or slug" })
  @ApiCreatedResponse({ type: TargetKeyDto, description: 'The new key: published now, signing after SIGNING_KEY_PUBLICATION_DELAY' })
  @ApiErrors({ 409: 'The product signs with a shared secret, or a rotation is under way (its key does not sign yet)' })
  rotateKeys(@Req() req: AuthenticatedRequest, @TargetRef('id') id: string): Promise<TargetKeyDto> {
    return this.keys.rotate(requestMeta(req), id);
  }
}
