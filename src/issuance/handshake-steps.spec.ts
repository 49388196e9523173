import { DomainError } from '../common/errors';
import { HANDSHAKE_STEPS, HandshakeState, runHandshakeSteps, SsoRefusal, StepDeps, TARGET_STEPS } from './handshake-steps';
import type { TargetWithAccess } from './sso.repository';

const loaded = (over: Partial<TargetWithAccess['target']> = {}, access: TargetWithAccess['access'] = { id: 'a1', groupMappings: {}, attributes: {}, settings: {} }): TargetWithAccess => ({
  target: { id: 't1', slug: 'mb', kind: 'metabase', baseUrl: 'https://mb.example.com/', settings: {}, disabled: false, secrets: {}, ...over },
  access,
  groups: [],
});

const session = { id: 's1', tenant: { id: 'ten1' }, user: { id: 'u1' } } as unknown as HandshakeState['session'];

function deps() {
  const audited: SsoRefusal[] = [];
  const admitted: string[] = [];
  const d: StepDeps = {
    auditRefusal: async (_meta, r) => void audited.push(r),
    refuseDisabledAccount: async () => undefined,
    admitHandshake: async (_meta, s) => void admitted.push(s.id),
    loginUrl: (next) => `/login?next=${encodeURIComponent(next)}`,
  };
  return { d, audited, admitted };
}

const state = (over: Partial<HandshakeState>): HandshakeState => ({
  flow: 'sso', slug: 'mb', tenantId: 'ten1', loaded: loaded(), json: false, returnToAsked: '/dashboard/1', session, meta: { actor: 'user:u1', ip: null, requestId: null }, ...over,
});

describe('handshake steps', () => {
  it('are one ordered list, target checks first, the session and access last', () => {
    expect(HANDSHAKE_STEPS.map((s) => s.name)).toEqual([
      'target_found', 'target_enabled', 'origin_allowed', 'sso_supported', 'json_supported', 'redirect_supported', 'return_to_on_target', 'signed_in', 'session_rate', 'tenant_access',
    ]);
    expect(HANDSHAKE_STEPS.slice(0, TARGET_STEPS.length)).toEqual(TARGET_STEPS);
  });

  it('stop at the first refusal, audited once under the flow, later steps not run', async () => {
    const { d, audited, admitted } = deps();
    const s = state({ loaded: loaded({ disabled: true }, null) });
    await expect(runHandshakeSteps(s, d)).rejects.toMatchObject({ code: 'target_disabled', status: 403 });
    expect(audited).toEqual([{ flow: 'sso', tenantId: 'ten1', target: 'mb', reason: 'target_disabled' }]);
    expect(admitted).toEqual([]);
  });

  it('check return_to before the session: a bad one is refused even when not signed in', async () => {
    const { d, audited } = deps();
    const err = await runHandshakeSteps(state({ session: null, tenantId: null, returnToAsked: 'https://evil.example/' }), d).catch((e) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(audited.map((a) => a.reason)).toEqual(['invalid_return_to']);
  });

  it('send a browser without a session to the login page, coming back to the checked return_to', async () => {
    const { d } = deps();
    expect(await runHandshakeSteps(state({ session: null }), d)).toEqual({ kind: 'redirect', url: `/login?next=${encodeURIComponent('/sso/mb?return_to=%2Fdashboard%2F1')}` });
  });

  it('in a hand-off precheck skip the session steps but still check access', async () => {
    const { d, audited, admitted } = deps();
    await expect(runHandshakeSteps(state({ flow: 'handoff', session: null, loaded: loaded({}, null) }), d)).rejects.toMatchObject({ code: 'no_access' });
    expect(audited.map((a) => `${a.flow}:${a.reason}`)).toEqual(['handoff:no_access']);
    expect(admitted).toEqual([]);
  });

  it('fill in what the mint needs when every check passes', async () => {
    const { d, admitted } = deps();
    const s = state({});
    expect(await runHandshakeSteps(s, d)).toBeUndefined();
    expect(s.sso).toBeDefined();
    expect(s.access?.id).toBe('a1');
    expect(s.returnTo).toBe('/dashboard/1');
    expect(admitted).toEqual(['s1']);
  });
});
