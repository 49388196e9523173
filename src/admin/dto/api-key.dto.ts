import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, Length, ValidateIf } from 'class-validator';
import { IsTenantRef, Trim } from '../../common/identifiers';
import { OptionalNotNull } from '../../common/dto';

export class CreateApiKeyDto {
  @ApiProperty({ maxLength: 100, example: 'CI provisioning' })
  @Trim()
  @IsString()
  @Length(1, 100, { message: 'name must be 1 to 100 characters long' })
  name: string;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: "The tenant the key is limited to (its id or slug); omitted or null makes a global key (needs a global key)",
  })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsString({ message: 'tenantId must be a tenant id (UUID) or slug' })
  @IsTenantRef()
  tenantId?: string | null;
}

export class ListApiKeysQueryDto {
  @ApiPropertyOptional({ default: false, description: 'Include revoked keys' })
  @OptionalNotNull()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'includeRevoked must be true or false' })
  includeRevoked?: boolean;
}

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ description: 'The first characters of the key, to recognise it' }) prefix: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'null: a global key' }) tenantId: string | null;
  @ApiProperty() createdAt: Date;
  @ApiProperty({ type: Date, nullable: true }) lastUsedAt: Date | null;
  @ApiProperty({ type: Date, nullable: true }) revokedAt: Date | null;
}

export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyDto] }) items: ApiKeyDto[];
}

export class CreatedApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() prefix: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) tenantId: string | null;
  @ApiProperty() createdAt: Date;
  @ApiProperty({ description: 'The key itself: shown in this response only, store it now' }) key: string;
}
