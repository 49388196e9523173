import { utcMinute } from '../../common/dates';
import type { TargetSettings } from '../product-types';
import { ASYMMETRIC_ALGS, AsymmetricAlg, defineTarget, schemas, SetupGuide, SetupTarget, TokenBehaviour } from '../product-definition';
import { mapGroups } from '../claims';
import type { ObjectSchema } from '../settings-schema';
import { groupsNote, settingOr } from '../setup-guide';
import { qlikDemo } from './demo';

/**
 * Qlik Cloud, JWT identity provider (qlik.dev "Create signed tokens for JWT authorization"):
 * the host page posts our token to `<tenant>/login/jwt-session` (`Authorization: Bearer`,
 * credentials included) and has a Qlik session. Asymmetric only (Qlik refuses HS*): Qlik
 * holds our public key as a PEM pasted into the IdP's `staticKeys: [{kid, pem}]`, so the
 * header's `kid` must be that key's — here the signing key's own kid (a rotation means
 * adding the new key's kid and PEM to Qlik before it signs).
 *
 * Claims: `iss` exactly the issuer registered in Qlik, `aud: "qlik.api/login/jwt-session"`,
 * `sub`, `subType: "user"`, `name`, `email`, `email_verified: true`, `groups`, `jti`, `iat`,
 * `nbf`, `exp` (Qlik: at most 60 minutes after iat; kept short).
 */
const DEFAULT_ALG: AsymmetricAlg = 'RS256';
const DEFAULT_TTL_SECONDS = 120;
const MAX_TTL_SECONDS = 3600;
export const QLIK_AUDIENCE = 'qlik.api/login/jwt-session';

export function qlikAlg(settings: TargetSettings): AsymmetricAlg {
  const v = settings.alg;
  return typeof v === 'string' && (ASYMMETRIC_ALGS as readonly string[]).includes(v) ? (v as AsymmetricAlg) : DEFAULT_ALG;
}

function ttlSeconds(settings: TargetSettings): number {
  const v = settings.tokenTtlSeconds;
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? Math.min(v, MAX_TTL_SECONDS) : DEFAULT_TTL_SECONDS;
}

const tenantUrl = (baseUrl: string) => baseUrl.replace(/\/+$/, '');

const token: TokenBehaviour = {
  signing: { keyPair: qlikAlg, header: () => ({}) },
  ttlSeconds,
  // Qlik keys users by subject; ours is the email, owned by one tenant per Qlik tenant.
  identityEmail: (ctx) => ctx.user.email,
  claims(ctx, exp) {
    const name = [ctx.user.firstName, ctx.user.lastName].filter(Boolean).join(' ') || ctx.user.email;
    return {
      iss: String(ctx.target.settings.issuer ?? ''),
      aud: QLIK_AUDIENCE,
      sub: ctx.user.email,
      subType: 'user',
      name,
      email: ctx.user.email,
      email_verified: true,
      groups: mapGroups(ctx.groups, ctx.access.groupMappings),
      jti: ctx.jti,
      iat: ctx.iat,
      nbf: ctx.iat,
      exp,
    };
  },
  json: { answer: (target) => ({ tenantUrl: tenantUrl(target.baseUrl) }) },
};

const settingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    issuer: {
      type: 'string',
      title: 'Issuer',
      description: 'The iss claim: exactly the issuer of the JWT identity provider in Qlik',
      minLength: 1,
      maxLength: 200,
    },
    alg: { type: 'string', title: 'Signing algorithm', description: 'RS256 (default) or ES256: the algorithm of the keys generated for this target (a change takes effect with the next key rotation)', enum: [...ASYMMETRIC_ALGS] },
    tokenTtlSeconds: { type: 'integer', title: 'Token lifetime (s)', minimum: 30, maximum: MAX_TTL_SECONDS, default: DEFAULT_TTL_SECONDS },
    allowedOrigins: schemas.allowedOrigins('Origins of host apps fetching tokens (CORS with credentials; never *)'),
    webIntegrationId: {
      type: 'string',
      title: 'Web integration ID',
      description: 'The ID of the Qlik web integration allowing the host page\'s origin: sent as qlik-web-integration-id (Qlik Cloud requires it on cross-origin requests)',
      pattern: '^[A-Za-z0-9_-]{1,100}$',
    },
  },
  required: ['issuer'],
  additionalProperties: false,
};

/**
 * The identity provider as Qlik's API creates it (qlik.dev "Create identity providers", JWT:
 * `protocol: "jwtAuth"`, `options.issuer`, `options.staticKeys: [{kid, pem}]`). Qlik keeps one
 * static key per identity provider (qlik-cli identity-provider create jwtauth: "Limited to 1 key
 * per identity provider"), so it is given the signing key, and the next one when that signs.
 */
function setupGuide(t: SetupTarget, publicUrl: string, productGroups: string[]): SetupGuide {
  const issuer = settingOr(t, 'issuer', '(set the issuer below)');
  const active = t.publicKeys?.find((k) => k.state === 'active');
  const next = t.publicKeys?.find((k) => k.state === 'next');
  const idp = {
    tenantIds: ['<your Qlik tenant ID>'],
    provider: 'external',
    protocol: 'jwtAuth',
    interactive: false,
    active: true,
    description: `embed-idp (${t.slug})`,
    options: { jwtLoginEnabled: true, issuer, staticKeys: [active ? { kid: active.kid, pem: active.pem.trim() } : { kid: '<kid under Signing keys>', pem: '<its PEM>' }] },
  };
  return {
    where: 'Qlik Cloud: Management Console > Identity provider > Create new > JWT (or POST /api/v1/identity-providers)',
    items: [
      { label: 'Issuer', value: issuer },
      {
        label: 'Identity provider (JSON)',
        value: JSON.stringify(idp, null, 2),
        note: `POST it to ${t.baseUrl.replace(/\/+$/, '')}/api/v1/identity-providers as a tenant admin (your tenant ID: GET /api/v1/tenants/me), or type the issuer, key ID and PEM into the Management Console. The keys are also published at ${publicUrl}/targets/${t.slug}/jwks.json.`,
      },
      ...(next
        ? [{
            label: 'Next key',
            value: JSON.stringify([{ kid: next.kid, pem: next.pem.trim() }], null, 2),
            note: `A rotation is under way: this key signs from ${utcMinute(next.signsFrom)}. Qlik holds one key per identity provider: at that time, replace its staticKeys with this (PATCH /api/v1/identity-providers/<id>).`,
          }]
        : []),
      { label: 'Token endpoint for the host page', value: `${publicUrl}/embed/${t.slug}/token` },
      { label: 'Web integration', note: 'Management Console > Web > Create new: add each host app origin (and this service\'s origin for its demo page at /demo/qlik/<target>/<app>), then set its ID as webIntegrationId.' },
      { label: 'Groups', note: groupsNote(productGroups) },
    ],
  };
}

/** Qlik Cloud: a JWT the host page exchanges for a Qlik session (POST /login/jwt-session). */
export const qlik = defineTarget({
  kind: 'qlik',
  label: 'Qlik Cloud',
  settingsSchema,
  accessSettingsSchema: { type: 'object', properties: {}, additionalProperties: false },
  examples: {
    baseUrl: 'https://acme.eu.qlikcloud.com',
    settings: { issuer: 'https://idp.example.com', alg: 'RS256', tokenTtlSeconds: 120, allowedOrigins: ['https://app.example.com'], webIntegrationId: 'aBcD1234eFgH5678iJkL9012mNoP3456' },
    accessSettings: {},
  },
  secrets: [],
  token,
  setupGuide,
  demo: qlikDemo,
});
