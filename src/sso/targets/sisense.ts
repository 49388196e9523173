import { settingsCheck as c, TargetDefinition } from './target-definition';

const KNOWN = ['emailClaim', 'firstNameClaim', 'lastNameClaim', 'tokenTtlSeconds', 'allowedOrigins', 'logoutLandingUrl'] as const;

/** Sisense: JWT SSO (Remote Login / Remote Logout URLs). */
export const sisense: TargetDefinition = {
  kind: 'sisense',
  secrets: { secret: 'required', embeddingSecret: 'unused' },
  parseSettings(input) {
    const problems: string[] = [];
    c.unknownKeys(problems, input, KNOWN);
    const settings = {
      emailClaim: c.claimName(problems, 'emailClaim', input.emailClaim),
      firstNameClaim: c.claimName(problems, 'firstNameClaim', input.firstNameClaim),
      lastNameClaim: c.claimName(problems, 'lastNameClaim', input.lastNameClaim),
      tokenTtlSeconds: c.positiveInt(problems, 'tokenTtlSeconds', input.tokenTtlSeconds, 30, 3600),
      allowedOrigins: c.origins(problems, 'allowedOrigins', input.allowedOrigins),
      logoutLandingUrl: c.url(problems, 'logoutLandingUrl', input.logoutLandingUrl),
    };
    return { settings: JSON.parse(JSON.stringify(settings)), problems };
  },
};
