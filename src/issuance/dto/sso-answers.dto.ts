import { ApiProperty } from '@nestjs/swagger';

/** `GET /sso/<target>?response=json`: what the Metabase Embedding SDK fetches. */
export class SsoJwtDto {
  @ApiProperty({ description: "The signed JWT for the BI tool (the SDK posts it to the tool's /auth/sso)" })
  jwt: string;
}

/** `GET /embed/<target>/<kind>/<id>?response=json`: the iframe URL of a signed embed. */
export class SignedEmbedDto {
  @ApiProperty({ description: 'The iframe URL, token included' })
  url: string;

  @ApiProperty({ format: 'date-time', description: 'When the token in the URL expires' })
  expiresAt: string;
}
