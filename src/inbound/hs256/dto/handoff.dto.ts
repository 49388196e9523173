import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsString, Length } from 'class-validator';
import { OptionalNotNull } from '../../../common/dto';

/** HS256 keys shorter than the hash output weaken it (RFC 7518 §3.2 asks for >= 256 bits). */
export const MIN_HANDOFF_SECRET = 32;
export const MAX_HANDOFF_SECRET = 1024;

export class UpdateHandoffSettingsDto {
  @ApiPropertyOptional({ description: 'An assertion for an unknown email creates the user' })
  @OptionalNotNull()
  @IsBoolean()
  jitProvisioning?: boolean;

  @ApiPropertyOptional({ description: "Each hand-off replaces the user's groups with the assertion's `groups` claim (when present)" })
  @OptionalNotNull()
  @IsBoolean()
  syncGroups?: boolean;
}

export class AddHandoffSecretDto {
  @ApiProperty({
    minLength: MIN_HANDOFF_SECRET,
    maxLength: MAX_HANDOFF_SECRET,
    writeOnly: true,
    description: 'Write-only: stored sealed, never returned. Becomes the newest secret; the previous one stays valid until removed.',
  })
  @IsString()
  @Length(MIN_HANDOFF_SECRET, MAX_HANDOFF_SECRET, { message: `secret must be ${MIN_HANDOFF_SECRET} to ${MAX_HANDOFF_SECRET} characters long` })
  secret: string;
}

export class HandoffSecretDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  createdAt: Date;
}

export class HandoffSettingsDto {
  @ApiProperty()
  jitProvisioning: boolean;

  @ApiProperty()
  syncGroups: boolean;

  @ApiProperty({ type: [HandoffSecretDto], description: 'Newest first; at most two (during a rotation)' })
  secrets: HandoffSecretDto[];
}
