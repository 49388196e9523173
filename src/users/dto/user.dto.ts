import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
} from 'class-validator';
import { IsEmailAddress, Trim, TrimLower } from '../../common/identifiers';
import { IsFlatAttributes, ATTRIBUTES_SCHEMA } from '../../tenants/attributes';
import { OptionalNotNull, PageMetaDto, PageQueryDto } from '../../common/dto';
import type { FlatAttributes } from '../../tenants/tenant.entity';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../passwords.service';
import { USER_ROLES } from '../user.entity';
import type { User, UserRole } from '../user.entity';
import { GROUP_NAME_MESSAGE, GROUP_NAME_RULE } from './group.dto';


const PASSWORD_MESSAGE = `Password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`;

export class CreateUserDto {
  @ApiProperty({ format: 'email', maxLength: 254, example: 'ada@acme.example', description: 'Unique in the tenant; stored lower-cased' })
  @TrimLower()
  @IsString({ message: 'Email must be an email address' })
  @MaxLength(254, { message: 'Email must be at most 254 characters' })
  @IsEmailAddress('Email must be an email address')
  email: string;

  @ApiPropertyOptional({ maxLength: 100, default: '' })
  @OptionalNotNull()
  @Trim()
  @IsString({ message: 'First name must be text' })
  @MaxLength(100, { message: 'First name must be at most 100 characters' })
  firstName?: string;

  @ApiPropertyOptional({ maxLength: 100, default: '' })
  @OptionalNotNull()
  @Trim()
  @IsString({ message: 'Last name must be text' })
  @MaxLength(100, { message: 'Last name must be at most 100 characters' })
  lastName?: string;

  @ApiPropertyOptional({
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    writeOnly: true,
    description: 'Without one the user cannot sign in with a password (e.g. hand-off only)',
  })
  @OptionalNotNull()
  @IsString()
  @Length(PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH, { message: PASSWORD_MESSAGE })
  password?: string;

  @ApiPropertyOptional(ATTRIBUTES_SCHEMA)
  @OptionalNotNull()
  @IsFlatAttributes()
  attributes?: FlatAttributes;

  @ApiPropertyOptional({ type: [String], description: 'Names of existing groups of the tenant', example: ['analysts'] })
  @OptionalNotNull()
  @IsArray()
  @ArrayMaxSize(100)
  @Trim({ each: true })
  @IsString({ each: true })
  @Matches(GROUP_NAME_RULE, { each: true, message: `Each group ${GROUP_NAME_MESSAGE}` })
  groups?: string[];

  @ApiPropertyOptional({ enum: USER_ROLES, default: 'member', description: 'tenant_admin: manages this tenant in the operator console' })
  @OptionalNotNull()
  @IsIn(USER_ROLES, { message: `Role must be one of ${USER_ROLES.join(', ')}` })
  role?: UserRole;
}

/** Email is not changeable: it is the identity the BI tools know the user by. */
export class UpdateUserDto {
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

  @ApiPropertyOptional(ATTRIBUTES_SCHEMA)
  @OptionalNotNull()
  @IsFlatAttributes()
  attributes?: FlatAttributes;

  @ApiPropertyOptional({ description: 'Disabling ends every session of the user at once' })
  @OptionalNotNull()
  @IsBoolean()
  disabled?: boolean;

  @ApiPropertyOptional({ enum: USER_ROLES, default: 'member', description: 'tenant_admin: manages this tenant in the operator console' })
  @OptionalNotNull()
  @IsIn(USER_ROLES, { message: `Role must be one of ${USER_ROLES.join(', ')}` })
  role?: UserRole;
}

export class SetPasswordDto {
  @ApiProperty({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH, writeOnly: true })
  @IsString({ message: PASSWORD_MESSAGE })
  @Length(PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH, { message: PASSWORD_MESSAGE })
  password: string;
}

export class ListUsersQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Case-insensitive substring of the email' })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  email?: string;
}

export class UserDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'uuid' })
  tenantId: string;

  @ApiProperty()
  email: string;

  @ApiProperty()
  firstName: string;

  @ApiProperty()
  lastName: string;

  @ApiProperty(ATTRIBUTES_SCHEMA)
  attributes: FlatAttributes;

  @ApiProperty()
  disabled: boolean;

  @ApiProperty({ enum: USER_ROLES })
  role: UserRole;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty()
  updatedAt: Date;
}

export class UserDetailDto extends UserDto {
  @ApiProperty({ type: [String], description: "Names of the user's groups" })
  groups: string[];
}

export class UserPageDto extends PageMetaDto {
  @ApiProperty({ type: [UserDto] })
  items: UserDto[];
}

/** Built field by field: the password hash can never reach a response. */
export function toUserDto(u: User): UserDto {
  return {
    id: u.id,
    tenantId: u.tenantId,
    email: u.email,
    firstName: u.firstName,
    lastName: u.lastName,
    attributes: u.attributes,
    disabled: u.disabled,
    role: u.role,
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
  };
}

export function toUserDetailDto(u: User, groups: string[]): UserDetailDto {
  return { ...toUserDto(u), groups };
}
