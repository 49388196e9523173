import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsString, Matches, MaxLength } from 'class-validator';
import { OptionalNotNull } from '../../common/dto';
import { IsEmailAddress, Trim, TrimLower } from '../../common/identifiers';
import { GROUP_NAME_MESSAGE, GROUP_NAME_RULE } from '../../users/dto/group.dto';
import type { UserRole } from '../../users/user.entity';

/** The user roles (users/user.entity.ts's USER_ROLES; an entity's values are its folder's own). */
const USER_ROLES = ['member', 'tenant_admin'] as const satisfies readonly UserRole[];

export class CreateInvitationDto {
  @ApiProperty({ format: 'email', maxLength: 254, example: 'ada@acme.example', description: 'A new user of the tenant, or one without a password yet' })
  @TrimLower()
  @IsString({ message: 'Email must be an email address' })
  @MaxLength(254, { message: 'Email must be at most 254 characters' })
  @IsEmailAddress('Email must be an email address')
  email: string;

  @ApiPropertyOptional({ maxLength: 100 })
  @OptionalNotNull()
  @Trim()
  @IsString({ message: 'First name must be text' })
  @MaxLength(100, { message: 'First name must be at most 100 characters' })
  firstName?: string;

  @ApiPropertyOptional({ maxLength: 100 })
  @OptionalNotNull()
  @Trim()
  @IsString({ message: 'Last name must be text' })
  @MaxLength(100, { message: 'Last name must be at most 100 characters' })
  lastName?: string;

  @ApiPropertyOptional({ enum: USER_ROLES, default: 'member' })
  @OptionalNotNull()
  @IsIn(USER_ROLES, { message: `Role must be one of ${USER_ROLES.join(', ')}` })
  role?: UserRole;

  @ApiPropertyOptional({ type: [String], description: 'Names of existing groups of the tenant (for a new user)' })
  @OptionalNotNull()
  @IsArray()
  @ArrayMaxSize(100)
  @Trim({ each: true })
  @IsString({ each: true })
  @Matches(GROUP_NAME_RULE, { each: true, message: `Each group ${GROUP_NAME_MESSAGE}` })
  groups?: string[];
}

export class InvitationDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'uuid' })
  userId: string;

  @ApiProperty()
  email: string;

  @ApiProperty()
  expiresAt: Date;

  @ApiPropertyOptional({ enum: ['email', 'outbox', 'link'], description: 'email: sent over SMTP; outbox: kept in the outbox (no SMTP_URL outside production); link: no mail is configured, give the person `link` yourself' })
  delivery?: 'email' | 'outbox' | 'link';

  @ApiPropertyOptional({ description: 'Only when delivery is `link`: the single-use link, shown this once' })
  link?: string;

  @ApiPropertyOptional()
  createdAt?: Date;

  @ApiPropertyOptional({ description: 'Who invited (audit actor)' })
  createdBy?: string;
}
