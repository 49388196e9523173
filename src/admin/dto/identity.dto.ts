import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { IsEmailAddress } from '../../common/identifiers';

export class ListBiIdentitiesQueryDto {
  @ApiPropertyOptional({ description: 'A BI URL; compared by its normalised origin (scheme, host, port)', example: 'https://metabase.example.com' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  instance?: string;

  @ApiPropertyOptional({ description: 'An email (case-insensitive)' })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  email?: string;
}

export class BiIdentityKeyQueryDto {
  @ApiProperty({ description: 'A BI URL; compared by its normalised origin' })
  @IsString()
  @MaxLength(2000)
  instance: string;

  @ApiProperty()
  @IsEmailAddress('email must be an email address')
  @MaxLength(254)
  email: string;
}

export class TransferBiIdentityDto extends BiIdentityKeyQueryDto {
  @ApiProperty({ format: 'uuid', description: 'The tenant that owns the identity from now on' })
  @IsUUID('all', { message: 'tenantId must be a UUID' })
  tenantId: string;
}

export class BiIdentityDto {
  @ApiProperty({ description: 'Normalised origin of the BI instance' }) instance: string;
  @ApiProperty() email: string;
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty() tenantSlug: string;
  @ApiProperty({ enum: ['sso', 'user', 'shared_account', 'operator'] }) claimedVia: string;
  @ApiProperty() claimedAt: Date;
}

export class BiIdentityListDto {
  @ApiProperty({ type: [BiIdentityDto] }) items: BiIdentityDto[];
}

export class EmailDomainDto {
  @ApiProperty({ example: 'acme.example' }) domain: string;
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty() createdAt: Date;
}

export class EmailDomainListDto {
  @ApiProperty({ type: [EmailDomainDto] }) items: EmailDomainDto[];
}
