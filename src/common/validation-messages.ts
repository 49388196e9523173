import { BadRequestException } from '@nestjs/common';
import type { ValidationError } from 'class-validator';

/**
 * Every input field a person can get a validation message about, named as the console labels
 * it (or, for fields only the admin API has, in the words its documentation uses). A message
 * starts with this name, never with the JSON property: the property is in `details.fields`
 * for programs. A DTO field missing here keeps its property name, which the messages spec
 * (validation-messages.spec.ts) refuses.
 */
export const FIELD_LABELS: Readonly<Record<string, string>> = {
  accentColor: 'Accent colour',
  algorithms: 'Signing algorithms',
  attributes: 'Attributes',
  audience: 'Audience',
  baseUrl: 'Base URL',
  before: 'Page position (before)',
  branding: 'Branding',
  claimEmail: 'Email claim',
  claimFirstName: 'First name claim',
  claimGroups: 'Groups claim',
  claimLastName: 'Last name claim',
  clientId: 'Client id',
  clientSecret: 'Client secret',
  disabled: 'Disabled',
  displayName: 'Name shown to users',
  email: 'Email',
  embeddingSecret: 'Embedding secret',
  enabled: 'Enabled',
  eventTypes: 'Event types',
  firstName: 'First name',
  format: 'Format',
  from: 'From',
  graceHours: 'Hours the current secret keeps signing',
  groupMappings: 'Group mappings',
  groups: 'Groups',
  includeRevoked: 'Include revoked keys',
  instance: 'Instance',
  issuer: 'Issuer',
  jitProvisioning: 'Create unknown users (just-in-time)',
  kind: 'Product',
  lastName: 'Last name',
  limit: 'Page size (limit)',
  logoUrl: 'Logo address',
  logoutLandingUrl: 'After sign-out address',
  maxTokenAgeSeconds: 'Maximum token age (seconds)',
  mfaPolicy: 'Two-step verification',
  name: 'Name',
  offset: 'Page start (offset)',
  password: 'Password',
  passwordSignIn: 'Password sign-in',
  role: 'Role',
  secret: 'Secret',
  secrets: 'Secrets',
  settings: 'Settings',
  slug: 'Slug',
  supportContact: 'Support contact',
  syncGroups: 'Sync groups',
  tenantId: 'Tenant',
  to: 'To',
  type: 'Event type',
  url: 'URL',
};

/** The label of a property, or the property itself when it has none (the spec catches that). */
export function fieldLabel(property: string): string {
  return FIELD_LABELS[property] ?? property;
}

/**
 * class-validator's default wordings (used where a decorator gives no message of its own),
 * said for a person; `$L` is the field's label. Order matters: the longer forms first.
 */
const DEFAULTS: [RegExp, string][] = [
  [/^nested property \S+ must be either object or array$/, '$L must be an object'],
  [/^each value in \S+ must be a string$/, 'Each value of $L must be text'],
  [/^\S+ must be longer than or equal to (\d+) and shorter than or equal to (\d+) characters$/, '$L must be $1 to $2 characters long'],
  [/^\S+ must be longer than or equal to 1 characters$/, '$L must not be empty'],
  [/^\S+ must be longer than or equal to (\d+) characters$/, '$L must be at least $1 characters long'],
  [/^\S+ must be shorter than or equal to (\d+) characters$/, '$L must be at most $1 characters long'],
  [/^\S+ must contain at least (\d+) elements$/, '$L must list at least $1'],
  [/^\S+ must contain no more than (\d+) elements$/, '$L may list at most $1'],
  [/^\S+ must not be greater than (\d+)$/, '$L must be at most $1'],
  [/^\S+ must not be less than (\d+)$/, '$L must be at least $1'],
  [/^\S+ must be an integer number$/, '$L must be a whole number'],
  [/^\S+ must be a boolean value$/, '$L must be true or false'],
  [/^\S+ must be a string or null$/, '$L must be text, or null to remove it'],
  [/^\S+ must be a string$/, '$L must be text'],
  [/^\S+ must be an array$/, '$L must be a list'],
  [/^\S+ must be an object$/, '$L must be an object'],
  [/^\S+ must be a UUID$/, '$L must be an id (a UUID)'],
  [/^\S+ must be a URL address$/, '$L must be a URL'],
  [/^\S+ should not be empty$/, '$L must not be empty'],
  [/^\S+ should not exist$/, '$L is not a field this accepts'],
];

/**
 * One validation message for a person: the field named by its label, class-validator's
 * defaults reworded. `property` is the failing property (for a list item, the list's).
 */
export function personMessage(property: string, message: string): string {
  const label = fieldLabel(property);
  // forbidNonWhitelisted: "property <sent> should not exist" names what the caller sent.
  const unknown = /^property (.+) should not exist$/.exec(message);
  if (unknown) return `"${unknown[1]}" is not a field this accepts`;
  for (const [pattern, words] of DEFAULTS) {
    if (pattern.test(message)) return message.replace(pattern, words).replace('$L', label);
  }
  if (message.startsWith(`${property} `)) return `${label}${message.slice(property.length)}`;
  // A problem with one key of a map field ("attributes.region must be …"): the key is the caller's.
  if (message.startsWith(`${property}.`)) {
    const rest = message.slice(property.length + 1);
    const space = rest.indexOf(' ');
    if (space > 0) return `${label}: "${rest.slice(0, space)}"${rest.slice(space)}`;
  }
  return message;
}

/** A failed validation as what the answer carries: each problem in words, with the field path it is about. */
export function problemsOf(errors: ValidationError[], parent = '', owner = ''): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  for (const e of errors) {
    const field = parent ? `${parent}.${e.property}` : e.property;
    // A list item ("0") is spoken of by its list's name.
    const named = /^\d+$/.test(e.property) && owner ? owner : e.property;
    for (const m of Object.values(e.constraints ?? {})) {
      const message = named === e.property ? m : m.replace(new RegExp(`\\b${e.property}\\b`), named);
      out.push({ field, message: personMessage(named, message) });
    }
    if (e.children?.length) out.push(...problemsOf(e.children, field, named));
  }
  return out;
}

/** The ValidationPipe's 400: `message` the problems in words (HttpErrorFilter joins them), `fields` their paths. */
export function validationException(errors: ValidationError[]): BadRequestException {
  // Two rules can say the same thing (IsObject, and the nested check on the list's items): said once.
  const seen = new Set<string>();
  const problems = problemsOf(errors).filter((p) => !seen.has(p.message) && seen.add(p.message));
  return new BadRequestException({ message: problems.map((p) => p.message), fields: problems.map((p) => p.field) });
}
