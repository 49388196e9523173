/**
 * ADAPTER (temporary): the console renders target and access forms from each product's
 * settings schema (JSON Schema subset). Until the product definitions in sso/targets/ carry
 * `label`, `settingsSchema`, `accessSettingsSchema`, `secrets` and `capabilities` themselves,
 * this file describes the current definitions in that shape. When they do, this file becomes
 * `TARGET_DEFINITIONS` read straight through — the one file to change.
 */
import type { TargetView } from '../sso/dto/target-input';
import type { TargetKind } from '../sso/target.entity';
import { TARGET_DEFINITIONS } from '../sso/targets';

export interface PropertySchema {
  type: 'string' | 'integer' | 'boolean' | 'array' | 'object';
  title?: string;
  description?: string;
  minimum?: number;
  maximum?: number;
  format?: string;
  enum?: string[];
  items?: PropertySchema;
  /** Nested object (e.g. a shared account). */
  properties?: Record<string, PropertySchema>;
  required?: string[];
  /** A map of name -> string (e.g. locked parameters). */
  additionalProperties?: false | PropertySchema;
}

export interface ObjectSchema {
  type: 'object';
  properties: Record<string, PropertySchema>;
  required?: string[];
}

export interface ProductSchema {
  kind: TargetKind;
  label: string;
  settingsSchema: ObjectSchema;
  accessSettingsSchema: ObjectSchema;
  /** `name` is the target input's field for it. */
  secrets: { name: string; required: boolean; description: string }[];
  capabilities: { ssoRedirect: boolean; signedEmbed: boolean; tokenBroker: boolean };
}

const claim = (title: string, def: string): PropertySchema => ({ type: 'string', title, description: `Default ${def}` });
const origins: PropertySchema = {
  type: 'array',
  title: 'Allowed origins',
  description: 'Origins of the host apps that embed it (one per line, e.g. https://app.example.com)',
  items: { type: 'string', format: 'origin' },
};
const logoutLanding: PropertySchema = { type: 'string', format: 'uri', title: 'Logout landing URL', description: 'Where a logout may send the user back to' };
const sharedAccount: PropertySchema = {
  type: 'object',
  title: 'Shared account',
  description: 'Every user of the tenant signs in as this one BI account (the real user travels as attributes)',
  properties: { email: { type: 'string', format: 'email', title: 'Email' }, firstName: { type: 'string', title: 'First name' }, lastName: { type: 'string', title: 'Last name' } },
  required: ['email'],
};

const LABELS: Record<TargetKind, string> = { metabase: 'Metabase', sisense: 'Sisense', databricks: 'Databricks AI/BI' };

const SETTINGS: Record<TargetKind, ObjectSchema> = {
  metabase: {
    type: 'object',
    properties: {
      emailClaim: claim('Email claim', 'email'),
      firstNameClaim: claim('First name claim', 'first_name'),
      lastNameClaim: claim('Last name claim', 'last_name'),
      groupsClaim: claim('Groups claim', 'groups'),
      tokenTtlSeconds: { type: 'integer', title: 'SSO token lifetime (seconds)', minimum: 60, maximum: 600 },
      embedTtlSeconds: { type: 'integer', title: 'Embed token lifetime (seconds)', minimum: 10, maximum: 3600 },
      tenantsEnabled: { type: 'boolean', title: 'Metabase tenants are on', description: 'Send @tenant (Metabase answers 403 when its tenants are off)' },
      allowedOrigins: origins,
      logoutLandingUrl: logoutLanding,
    },
  },
  sisense: {
    type: 'object',
    properties: {
      emailClaim: claim('Email claim', 'email'),
      firstNameClaim: claim('First name claim', 'firstName'),
      lastNameClaim: claim('Last name claim', 'lastName'),
      tokenTtlSeconds: { type: 'integer', title: 'SSO token lifetime (seconds)', minimum: 30, maximum: 3600 },
      allowedOrigins: origins,
      logoutLandingUrl: logoutLanding,
    },
  },
  databricks: {
    type: 'object',
    properties: {
      clientId: { type: 'string', title: 'Service principal application id' },
      workspaceId: { type: 'string', title: 'Workspace id', description: 'Numeric' },
      allowedOrigins: origins,
    },
  },
};

const ACCESS: Record<TargetKind, ObjectSchema> = {
  metabase: {
    type: 'object',
    properties: {
      metabaseTenantSlug: { type: 'string', title: 'Metabase tenant slug', description: 'The @tenant (default: the tenant slug)' },
      sharedAccount,
      lockedParams: { type: 'object', title: 'Locked parameters', description: 'Signed-embed parameter = attribute name, one per line', additionalProperties: { type: 'string' } },
    },
  },
  sisense: {
    type: 'object',
    properties: {
      sisenseTenantName: { type: 'string', title: 'Sisense tenant name', description: 'Organization tenant (URL prefix); with its id' },
      sisenseTenantId: { type: 'string', title: 'Sisense tenant id' },
      sharedAccount,
    },
  },
  databricks: {
    type: 'object',
    properties: { externalValueAttribute: { type: 'string', title: 'External value attribute', description: 'The attribute sent as external_value' } },
  },
};

const SECRET_TEXT: Record<TargetKind, { secret: string; embeddingSecret: string }> = {
  metabase: { secret: 'JWT signing key (Admin > Authentication > JWT)', embeddingSecret: 'Embedding secret key (Admin > Embedding > Static)' },
  sisense: { secret: 'SSO shared secret (Admin > Security > Single Sign-On)', embeddingSecret: '' },
  databricks: { secret: 'Service principal OAuth secret', embeddingSecret: '' },
};

export function productSchemas(): ProductSchema[] {
  return Object.values(TARGET_DEFINITIONS).map((d) => ({
    kind: d.kind,
    label: LABELS[d.kind],
    settingsSchema: SETTINGS[d.kind],
    accessSettingsSchema: ACCESS[d.kind],
    secrets: [
      { name: 'secret', required: d.secrets.secret === 'required', description: SECRET_TEXT[d.kind].secret },
      ...(d.secrets.embeddingSecret === 'unused' ? [] : [{ name: 'embeddingSecret', required: false, description: SECRET_TEXT[d.kind].embeddingSecret }]),
    ],
    capabilities: { ssoRedirect: !!d.sso, signedEmbed: !!d.embed, tokenBroker: !d.sso },
  }));
}

export function productSchema(kind: string): ProductSchema | undefined {
  return productSchemas().find((p) => p.kind === kind);
}

/** Whether a target has the named secret set (the API shows only that, never the value). */
export function secretIsSet(t: TargetView, name: string): boolean {
  return name === 'secret' ? t.hasSecret : name === 'embeddingSecret' ? t.hasEmbeddingSecret : false;
}
