import { Param, ParseUUIDPipe } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, Max, Min, ValidateIf } from 'class-validator';
import { notFound } from './errors';

/**
 * A uuid path parameter. A malformed id answers the same 404 as an unknown one (never a
 * 400 that tells ids apart, never a 500 from Postgres' uuid parser).
 */
export const UuidParam = (name: string, notFoundCode: string) =>
  Param(name, new ParseUUIDPipe({ exceptionFactory: () => notFound(notFoundCode) }));

/**
 * Optional in a request body, but not nullable: `null` is validated (and refused) instead
 * of skipped, so it never reaches a NOT NULL column as a 500.
 */
export const OptionalNotNull = () => ValidateIf((_obj: object, value: unknown) => value !== undefined);

export const MAX_PAGE_SIZE = 200;

/** limit/offset pagination shared by every admin list. */
export class PageQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 50 })
  @OptionalNotNull()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit: number = 50;

  @ApiPropertyOptional({ minimum: 0, default: 0 })
  @OptionalNotNull()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  offset: number = 0;
}

export class PageMetaDto {
  @ApiProperty({ description: 'How many items match, over all pages' })
  total: number;

  @ApiProperty()
  limit: number;

  @ApiProperty()
  offset: number;
}
