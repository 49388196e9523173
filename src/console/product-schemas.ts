/**
 * What the console needs of each product, read straight from its definition in src/products/
 * (label, settings and access-settings schemas, named secrets, capabilities): the console's
 * forms are rendered from the same schema objects the admin API validates with.
 */
import type { TargetView } from '../catalog/dto/target-input';
import { TARGET_DEFINITIONS } from '../products';

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
  /** A list setting: what an absent list allows (a present one allows its entries only). */
  'x-allow-list'?: { unset: 'none' | 'all' };
}

export interface ObjectSchema {
  type: 'object';
  properties: Record<string, PropertySchema>;
  required?: string[];
}

export interface ProductSchema {
  kind: string;
  label: string;
  settingsSchema: ObjectSchema;
  accessSettingsSchema: ObjectSchema;
  /** `name` is the target input's field for it. */
  secrets: { name: string; required: boolean; description: string }[];
  capabilities: { ssoRedirect: boolean; signedEmbed: boolean; tokenBroker: boolean; jsonToken: boolean; tokenLink: boolean };
  /** A token link's resource segment and what "Try it" asks for (a path, one or more segments). */
  link?: { resource: string; label: string; example: string; pattern: string };
}

export function productSchemas(): ProductSchema[] {
  return TARGET_DEFINITIONS.map((d) => ({
    kind: d.kind,
    label: d.label,
    settingsSchema: d.settingsSchema as unknown as ObjectSchema,
    accessSettingsSchema: d.accessSettingsSchema as unknown as ObjectSchema,
    secrets: d.secrets.map((x) => ({ name: x.name, required: x.required, description: x.description })),
    capabilities: {
      ssoRedirect: d.capabilities.ssoRedirect,
      signedEmbed: d.capabilities.signedEmbed,
      tokenBroker: d.capabilities.tokenBroker,
      jsonToken: d.capabilities.jsonToken,
      tokenLink: d.capabilities.tokenLink,
    },
    ...(d.token?.link?.prompt ? { link: { resource: d.token.link.resource, ...d.token.link.prompt, pattern: d.token.link.path.source } } : {}),
  }));
}

export function productSchema(kind: string): ProductSchema | undefined {
  return productSchemas().find((p) => p.kind === kind);
}

/** Whether a target has the named secret set (the API shows only that, never the value). */
export function secretIsSet(t: TargetView, name: string): boolean {
  return t.secretsSet.includes(name);
}
