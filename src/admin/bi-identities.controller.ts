import { Body, Controller, Delete, Get, HttpCode, Put, Query, Req } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { GlobalOnly } from '../common/route-protection';
import { AuthenticatedRequest } from '../auth/auth.decorators';
import { requestMeta } from '../common/request-meta';
import { IdentitiesService } from '../identities/identities.service';
import { BiIdentityDto, BiIdentityKeyQueryDto, BiIdentityListDto, ListBiIdentitiesQueryDto, TransferBiIdentityDto } from './dto/identity.dto';

/**
 * Operators resolve identity conflicts (README "BI identities"): which tenant owns an email
 * on a BI instance, moving it to another tenant, or freeing it. Global key only: these rows
 * span tenants.
 */
@ApiTags('bi-identities')
@GlobalOnly()
@Controller('api/v1/bi-identities')
export class BiIdentitiesController {
  constructor(private readonly identities: IdentitiesService) {}

  @Get()
  @ApiOperation({ summary: 'List identities by instance and/or email (global key only)' })
  @ApiOkResponse({ type: BiIdentityListDto })
  async list(@Query() q: ListBiIdentitiesQueryDto): Promise<BiIdentityListDto> {
    return { items: await this.identities.list(q) };
  }

  @Put()
  @ApiOperation({ summary: 'Give an identity to a tenant, whoever owned it (global key only)' })
  @ApiOkResponse({ type: BiIdentityDto })
  async transfer(@Req() req: AuthenticatedRequest, @Body() body: TransferBiIdentityDto): Promise<BiIdentityDto> {
    return this.identities.transfer(requestMeta(req), body);
  }

  @Delete()
  @HttpCode(204)
  @ApiOperation({ summary: 'Release an identity: the next tenant to use it owns it (global key only)' })
  @ApiNoContentResponse()
  async release(@Req() req: AuthenticatedRequest, @Query() q: BiIdentityKeyQueryDto): Promise<void> {
    await this.identities.release(requestMeta(req), q);
  }
}
