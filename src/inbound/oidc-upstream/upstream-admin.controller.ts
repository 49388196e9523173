import { Body, Controller, Delete, Get, HttpCode, Put, Req } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiParam, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsBoolean, IsString, Length, Matches, ValidateIf } from 'class-validator';
import { ScopedTenantId } from '../../auth/auth.decorators';
import type { AuthenticatedRequest } from '../../auth/auth.decorators';
import { OptionalNotNull } from '../../common/dto';
import { requestMeta } from '../../common/request-meta';
import { TenantScoped } from '../../common/route-protection';
import { UpstreamProvidersService, UpstreamProviderView } from './upstream-providers.service';

export class PutUpstreamProviderDto {
  @ApiProperty({ example: 'https://acme.okta.com', description: "The IdP's issuer (https; http only on loopback outside production)" })
  @IsString()
  @Length(1, 500)
  issuer: string;

  @ApiProperty({ description: 'The client id this service was registered with at the IdP' })
  @IsString()
  @Length(1, 500)
  clientId: string;

  @ApiProperty({ writeOnly: true, description: 'Write-only: stored sealed, never returned' })
  @IsString()
  @Length(1, 2000)
  clientSecret: string;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'Claim (name or dotted path) with group names; null: groups not read' })
  @ValidateIf((_o: object, v: unknown) => v !== undefined && v !== null)
  @Matches(/^[^\s]{1,200}$/, { message: 'claimGroups must be a claim name or dotted path (1-200 characters, no spaces)' })
  claimGroups?: string | null;

  @ApiPropertyOptional() @OptionalNotNull() @IsBoolean() jitProvisioning?: boolean;
  @ApiPropertyOptional() @OptionalNotNull() @IsBoolean() syncGroups?: boolean;
}

export class UpstreamProviderDto {
  @ApiProperty() issuer: string;
  @ApiProperty() clientId: string;
  @ApiProperty({ type: String, nullable: true }) claimGroups: string | null;
  @ApiProperty() jitProvisioning: boolean;
  @ApiProperty() syncGroups: boolean;
  @ApiProperty() createdAt: Date;
  @ApiProperty() updatedAt: Date;
}

/** A tenant's own OpenID Connect provider for company sign-in. Operator-only (the global key). */
@ApiTags('handoff')
@ApiParam({ name: 'tenantId', description: "The tenant's id or slug" })
@TenantScoped({ operatorOnly: true })
@Controller('api/v1/tenants/:tenantId/oidc-provider')
export class UpstreamAdminController {
  constructor(private readonly providers: UpstreamProvidersService) {}

  @Get()
  @ApiOkResponse({ type: UpstreamProviderDto })
  async get(@ScopedTenantId() tenantId: string): Promise<UpstreamProviderDto> {
    return strip(await this.providers.get(tenantId));
  }

  @Put()
  @ApiOkResponse({ type: UpstreamProviderDto })
  async put(@Req() req: AuthenticatedRequest, @ScopedTenantId() tenantId: string, @Body() body: PutUpstreamProviderDto): Promise<UpstreamProviderDto> {
    return strip(await this.providers.put(requestMeta(req), tenantId, body));
  }

  @Delete()
  @HttpCode(204)
  @ApiNoContentResponse({ description: "The tenant's people no longer sign in at their IdP" })
  async remove(@Req() req: AuthenticatedRequest, @ScopedTenantId() tenantId: string): Promise<void> {
    await this.providers.remove(requestMeta(req), tenantId);
  }
}

function strip(v: UpstreamProviderView): UpstreamProviderDto {
  const { tenantId: _t, ...rest } = v;
  return rest;
}
