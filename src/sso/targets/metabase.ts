import { settingsCheck as c, TargetDefinition } from './target-definition';

const KNOWN = [
  'emailClaim',
  'firstNameClaim',
  'lastNameClaim',
  'groupsClaim',
  'tokenTtlSeconds',
  'embedTtlSeconds',
  'tenantsEnabled',
  'allowedOrigins',
  'logoutLandingUrl',
] as const;

/** Metabase: JWT SSO (interactive embedding, the SDK) and static signed embeds. */
export const metabase: TargetDefinition = {
  kind: 'metabase',
  secrets: { secret: 'required', embeddingSecret: 'optional' },
  parseSettings(input) {
    const problems: string[] = [];
    c.unknownKeys(problems, input, KNOWN);
    const settings = {
      emailClaim: c.claimName(problems, 'emailClaim', input.emailClaim),
      firstNameClaim: c.claimName(problems, 'firstNameClaim', input.firstNameClaim),
      lastNameClaim: c.claimName(problems, 'lastNameClaim', input.lastNameClaim),
      groupsClaim: c.claimName(problems, 'groupsClaim', input.groupsClaim),
      // CONTRACTS: send exp 60–600 s ahead.
      tokenTtlSeconds: c.positiveInt(problems, 'tokenTtlSeconds', input.tokenTtlSeconds, 60, 600),
      embedTtlSeconds: c.positiveInt(problems, 'embedTtlSeconds', input.embedTtlSeconds, 10, 3600),
      tenantsEnabled: c.bool(problems, 'tenantsEnabled', input.tenantsEnabled),
      allowedOrigins: c.origins(problems, 'allowedOrigins', input.allowedOrigins),
      logoutLandingUrl: c.url(problems, 'logoutLandingUrl', input.logoutLandingUrl),
    };
    return { settings: JSON.parse(JSON.stringify(settings)), problems };
  },
};
