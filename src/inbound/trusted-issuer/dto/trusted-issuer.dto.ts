import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsIn, IsInt, IsString, Length, Matches, Max, Min, ValidateIf } from 'class-validator';
import { OptionalNotNull } from '../../../common/dto';
import { ASYMMETRIC_ALGORITHMS } from '../../oidc-issuers';

/** A claim name (Auth0's namespaced claims are URLs) or a dotted path: no spaces. */
const CLAIM = /^[^\s]{1,200}$/;
const claimMessage = (field: string) => `${field} must be a claim name or dotted path (1-200 characters, no spaces)`;
export const MIN_TOKEN_AGE = 30;
export const MAX_TOKEN_AGE = 86_400;
/** What a field left out is (the trusted_issuers columns' defaults). */
export const TRUSTED_ISSUER_DEFAULTS = { claimEmail: 'email', claimFirstName: 'given_name', claimLastName: 'family_name', claimGroups: null, maxTokenAgeSeconds: 300 } as const;

/** The fields with defaults, optional on create and on update. */
class TrustedIssuerSettingsDto {
  @ApiPropertyOptional({ enum: ASYMMETRIC_ALGORITHMS, isArray: true, description: 'Accepted signature algorithms (asymmetric only); default ["RS256"]' })
  @OptionalNotNull()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(ASYMMETRIC_ALGORITHMS.length)
  @IsIn(ASYMMETRIC_ALGORITHMS as unknown as string[], { each: true, message: `algorithms must be among ${ASYMMETRIC_ALGORITHMS.join(', ')} (asymmetric only: never none or HS*)` })
  algorithms?: string[];

  @ApiPropertyOptional({ description: 'Claim (name or dotted path) with the email; default email' })
  @OptionalNotNull()
  @Matches(CLAIM, { message: claimMessage('claimEmail') })
  claimEmail?: string;

  @ApiPropertyOptional({ description: 'Default given_name' })
  @OptionalNotNull()
  @Matches(CLAIM, { message: claimMessage('claimFirstName') })
  claimFirstName?: string;

  @ApiPropertyOptional({ description: 'Default family_name' })
  @OptionalNotNull()
  @Matches(CLAIM, { message: claimMessage('claimLastName') })
  claimLastName?: string;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'Claim (name or dotted path, e.g. realm_access.roles) with group names; null: groups not read' })
  @ValidateIf((_o: object, v: unknown) => v !== undefined && v !== null)
  @Matches(CLAIM, { message: claimMessage('claimGroups') })
  claimGroups?: string | null;

  @ApiPropertyOptional({ minimum: MIN_TOKEN_AGE, maximum: MAX_TOKEN_AGE, description: 'Seconds after auth_time (else iat) a token is still accepted; default 300' })
  @OptionalNotNull()
  @IsInt()
  @Min(MIN_TOKEN_AGE)
  @Max(MAX_TOKEN_AGE)
  maxTokenAgeSeconds?: number;

  @ApiPropertyOptional({ description: 'A token for an unknown email creates the user' })
  @OptionalNotNull()
  @IsBoolean()
  jitProvisioning?: boolean;

  @ApiPropertyOptional({ description: "Each hand-off replaces the user's groups with the token's (when claimGroups is set and the claim present)" })
  @OptionalNotNull()
  @IsBoolean()
  syncGroups?: boolean;
}

export class CreateTrustedIssuerDto extends TrustedIssuerSettingsDto {
  @ApiProperty({ description: "Compared with the token's iss exactly; https (http only on loopback outside production)", example: 'https://acme.eu.auth0.com/' })
  @IsString()
  @Length(1, 500)
  issuer: string;

  @ApiProperty({ description: 'The client id (or API identifier) the tokens are issued to; one of their aud' })
  @IsString()
  @Length(1, 500)
  audience: string;
}

export class UpdateTrustedIssuerDto extends TrustedIssuerSettingsDto {
  @ApiPropertyOptional({ description: 'Compared with the token\'s iss exactly; https (http only on loopback outside production)', example: 'https://acme.eu.auth0.com/' })
  @OptionalNotNull()
  @IsString()
  @Length(1, 500)
  issuer?: string;

  @ApiPropertyOptional({ description: 'The client id (or API identifier) the tokens are issued to; one of their aud' })
  @OptionalNotNull()
  @IsString()
  @Length(1, 500)
  audience?: string;
}

export class TrustedIssuerDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() issuer: string;
  @ApiProperty() audience: string;
  @ApiProperty({ type: [String] }) algorithms: string[];
  @ApiProperty() claimEmail: string;
  @ApiProperty() claimFirstName: string;
  @ApiProperty() claimLastName: string;
  @ApiProperty({ nullable: true, type: String }) claimGroups: string | null;
  @ApiProperty() maxTokenAgeSeconds: number;
  @ApiProperty() jitProvisioning: boolean;
  @ApiProperty() syncGroups: boolean;
  @ApiProperty() createdAt: Date;
  @ApiProperty() updatedAt: Date;
}
