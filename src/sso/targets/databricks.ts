import { settingsCheck as c, TargetDefinition } from './target-definition';

const KNOWN = ['clientId', 'workspaceId', 'allowedOrigins'] as const;

/** Databricks AI/BI external embedding: a token broker (the secret is the service principal's). */
export const databricks: TargetDefinition = {
  kind: 'databricks',
  secrets: { secret: 'required', embeddingSecret: 'unused' },
  parseSettings(input) {
    const problems: string[] = [];
    c.unknownKeys(problems, input, KNOWN);
    const clientId = input.clientId;
    if (clientId !== undefined && (typeof clientId !== 'string' || !/^[A-Za-z0-9-]{1,100}$/.test(clientId))) {
      problems.push('settings.clientId must be the service principal application id');
    }
    const workspaceId = input.workspaceId;
    if (workspaceId !== undefined && (typeof workspaceId !== 'string' || !/^[0-9]{1,30}$/.test(workspaceId))) {
      problems.push('settings.workspaceId must be the numeric workspace id, as a string');
    }
    const settings = { clientId, workspaceId, allowedOrigins: c.origins(problems, 'allowedOrigins', input.allowedOrigins) };
    return { settings: JSON.parse(JSON.stringify(settings)), problems };
  },
};
