import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * The body of every error answer (HttpErrorFilter builds exactly this), and its one schema in
 * the OpenAPI document: every documented 4xx/5xx refers to it.
 */
export class ErrorResponse {
  @ApiProperty({ type: 'integer', example: 404, description: 'The HTTP status, repeated' })
  statusCode: number;

  @ApiProperty({ example: 'tenant_not_found', description: 'A stable machine-readable code (e.g. validation_failed, unauthorized, conflict)' })
  error: string;

  @ApiProperty({ example: 'tenant not found', description: 'What was wrong, for a person; never anything internal' })
  message: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'More about what was wrong, when there is more: `problems` and `fields` (validation: each problem in words, and the JSON path it is about), `field`, `target`…',
    example: { problems: ['Slug must be 1-63 lower-case letters, digits or hyphens, starting with a letter or digit'], fields: ['slug'] },
  })
  details?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'The request id (also the X-Request-Id header): quote it, the log has the detail' })
  requestId?: string;
}
