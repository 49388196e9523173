import type { SessionContext } from '../auth/auth.types';
import { badRequest, forbidden, notFound, unauthorized } from '../common/errors';
import type { RequestMeta } from '../common/request-meta';
import { SsoError } from '../catalog/sso.errors';
import { targetDefinition } from '../products';
import type { SsoBehaviour } from '../products/product-definition';
import type { TargetWithAccess } from './sso.repository';

/** The browser flows whose refusals are audited, as `<flow>.denied`. */
export type SsoFlow = 'sso' | 'embed' | 'broker' | 'token' | 'handoff';

export interface SsoRefusal {
  flow: SsoFlow;
  tenantId: string | null;
  /** The target's slug (as asked for, when no such target exists). */
  target: string;
  /** The error code the caller answers with (or why it refuses). */
  reason: string;
  details?: Record<string, unknown>;
}

/** What the steps need of the SSO service: auditing and the session-bound refusals. */
export interface StepDeps {
  auditRefusal(meta: RequestMeta, r: SsoRefusal): Promise<void>;
  refuseDisabledAccount(cookie: unknown, slug: string, meta: RequestMeta): Promise<void>;
  admitHandshake(meta: RequestMeta, session: SessionContext, at: { flow: SsoFlow; target: string }): Promise<void>;
  loginUrl(next: string, tenantHint: string | undefined): string;
}

/**
 * One handshake being checked. The steps read the request's part and fill in what they
 * establish (the product's SSO behaviour, the checked return_to, the access), so the mint
 * that follows reads it instead of asking again.
 */
export interface HandshakeState {
  flow: SsoFlow;
  slug: string;
  tenantId: string | null;
  /** Null: no such target (refused by the first step). */
  loaded: TargetWithAccess | null;
  json: boolean;
  returnToAsked: string | undefined;
  tenantHint?: string;
  /** A handshake's session (null: not signed in). A hand-off's precheck has none yet. */
  session: SessionContext | null;
  cookie?: unknown;
  meta: RequestMeta;
  /** The full pipeline's CORS check of a JSON answer (throws after auditing); none on the fast path, which never answers JSON. */
  checkOrigin?: () => Promise<void>;

  sso?: SsoBehaviour;
  returnTo?: string;
  access?: NonNullable<TargetWithAccess['access']>;
}

/** A step's verdict: carry on, or the answer that ends the handshake without a refusal (the login page). */
export type StepResult = void | { kind: 'redirect'; url: string };

export interface HandshakeStep {
  name: string;
  run(s: HandshakeState, deps: StepDeps): Promise<StepResult>;
}

const refuse = async (deps: StepDeps, s: HandshakeState, reason: string, error: Error, details?: Record<string, unknown>): Promise<never> => {
  await deps.auditRefusal(s.meta, { flow: s.flow, tenantId: s.tenantId, target: s.slug, reason, ...(details ? { details } : {}) });
  throw error;
};

/** The tenant's access to the target (also the embed and broker flows' check). */
export const ACCESS_STEP: HandshakeStep = {
  name: 'tenant_access',
  run: async (s, deps) => {
    const access = s.loaded!.access;
    if (!access) await refuse(deps, s, 'no_access', forbidden(SsoError.NoAccess, 'Your organization does not have access to this BI target'));
    s.access = access!;
  },
};

/** A target that exists and is enabled: the first checks of every flow on a target. */
export const TARGET_STEPS: readonly HandshakeStep[] = [
  {
    name: 'target_found',
    run: async (s, deps) => {
      if (!s.loaded) await refuse(deps, s, 'unknown_target', notFound(SsoError.TargetNotFound, { target: s.slug }));
    },
  },
  {
    name: 'target_enabled',
    run: async (s, deps) => {
      if (s.loaded!.target.disabled) await refuse(deps, s, 'target_disabled', forbidden(SsoError.TargetDisabled, 'This BI target is disabled'));
    },
  },
];

/**
 * The refusal checks of an SSO handshake, in the order they are made (the first that fails
 * answers), as one list that every way into a handshake runs: the fast path, the full
 * pipeline (GET, and POST with a hand-off) and a hand-off's precheck (which skips the session
 * steps: it runs before the session exists, so that a refused hand-off creates nothing). A
 * refusal is audited as `<flow>.denied` before it is thrown; on the fast path
 * (RequestMeta.deferRefusals) auditing throws instead and the full pipeline runs the list
 * again from the start. The embed and broker flows share the first steps (TARGET_STEPS).
 */
export const HANDSHAKE_STEPS: readonly HandshakeStep[] = [
  ...TARGET_STEPS,
  {
    name: 'origin_allowed',
    run: async (s) => {
      if (s.json) await s.checkOrigin?.();
    },
  },
  {
    name: 'sso_supported',
    run: async (s, deps) => {
      s.sso = targetDefinition(s.loaded!.target.kind)?.sso;
      if (!s.sso) await refuse(deps, s, 'sso_not_supported', badRequest(SsoError.SsoNotSupported, `Target ${s.slug} does not do JWT single sign-on`));
    },
  },
  {
    name: 'json_supported',
    run: async (s, deps) => {
      if (s.json && !s.sso!.json) await refuse(deps, s, 'sso_json_not_supported', badRequest(SsoError.SsoJsonNotSupported, `Target ${s.slug} does not answer tokens as JSON`));
    },
  },
  {
    name: 'redirect_supported',
    run: async (s, deps) => {
      if (!s.json && !s.sso!.redirect) {
        await refuse(deps, s, 'sso_redirect_not_supported', badRequest(SsoError.SsoRedirectNotSupported, `Target ${s.slug} takes tokens as JSON only (?response=json)`));
      }
    },
  },
  {
    // The SDK never needs return_to; a browser's is checked before anything else is.
    name: 'return_to_on_target',
    run: async (s, deps) => {
      s.returnTo = '/';
      if (s.json) return;
      const checked = s.sso!.redirect!.normaliseReturnTo(s.returnToAsked, s.loaded!.target);
      if (checked === null) {
        await refuse(deps, s, 'invalid_return_to', badRequest(SsoError.InvalidReturnTo, "return_to must be a path or a URL on the BI tool's own site; it was not followed"), {
          returnTo: s.returnToAsked?.slice(0, 300),
        });
      }
      s.returnTo = checked!;
    },
  },
  {
    // Not signed in: a disabled account is refused; anyone else signs in first (the login
    // page for a browser, 401 for the SDK). A hand-off's precheck has no session yet.
    name: 'signed_in',
    run: async (s, deps) => {
      if (s.flow === 'handoff' || s.session) return;
      await deps.refuseDisabledAccount(s.cookie, s.slug, s.meta);
      if (s.json) throw unauthorized(SsoError.NoSession, 'Not signed in: sign in to the identity provider first');
      const next = `/sso/${s.slug}?return_to=${encodeURIComponent(s.returnTo!)}`;
      return { kind: 'redirect', url: deps.loginUrl(next, s.tenantHint) };
    },
  },
  {
    name: 'session_rate',
    run: async (s, deps) => {
      if (s.session) await deps.admitHandshake(s.meta, s.session, { flow: 'sso', target: s.slug });
    },
  },
  ACCESS_STEP,
];

/** Runs the steps in order; a step's answer (the login page) ends the run. */
export async function runHandshakeSteps(s: HandshakeState, deps: StepDeps, steps: readonly HandshakeStep[] = HANDSHAKE_STEPS): Promise<StepResult> {
  for (const step of steps) {
    const answer = await step.run(s, deps);
    if (answer) return answer;
  }
}
