import { ApiProperty } from '@nestjs/swagger';
import { Trim } from '../../common/identifiers';
import { IsString, Matches } from 'class-validator';
import { PageMetaDto } from '../../common/dto';
import type { Group } from '../group.entity';

/**
 * Group names are what group mappings key on and what Metabase/Sisense may receive as group
 * names: 1-100 characters, no control characters, no surrounding spaces (trimmed).
 */
export const GROUP_NAME_RULE = /^[^\p{Cc}]{1,100}$/u;
export const GROUP_NAME_MESSAGE = 'name must be 1 to 100 characters, without line breaks, tabs or other control characters';

export class GroupNameDto {
  @ApiProperty({ maxLength: 100, example: 'analysts' })
  @Trim()
  @IsString()
  @Matches(GROUP_NAME_RULE, { message: `Group ${GROUP_NAME_MESSAGE}` })
  name: string;
}

export class GroupDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'uuid' })
  tenantId: string;

  @ApiProperty()
  name: string;

  @ApiProperty()
  createdAt: Date;
}

export class GroupPageDto extends PageMetaDto {
  @ApiProperty({ type: [GroupDto] })
  items: GroupDto[];
}

export class GroupListDto {
  @ApiProperty({ type: [GroupDto] })
  items: GroupDto[];
}

export function toGroupDto(g: Group): GroupDto {
  return { id: g.id, tenantId: g.tenantId, name: g.name, createdAt: g.createdAt };
}
