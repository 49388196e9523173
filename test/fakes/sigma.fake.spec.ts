import { createHmac, randomUUID } from 'node:crypto';
import { FakeSigma, startFakeSigma } from './sigma';

/**
 * The fake is only worth something if it refuses what Sigma refuses: one broken token per
 * rule of the README's Sigma section, each assembled by hand and each refused, and the right
 * one accepted once, through the URL the host page iframes.
 */
const CLIENT = 'sigma-embed-client-id-0001';
const SECRET = 'sigma-embed-secret-0123456789abcdef0123456789abcdef';
const ORG = 'acme-analytics';
const CLOCK = 1_800_000_000;

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
function sign(payload: Record<string, unknown>, header: Record<string, unknown> = {}, secret = SECRET): string {
  const h = { alg: 'HS256', typ: 'JWT', kid: CLIENT, ...header };
  const input = `${b64(h)}.${b64(payload)}`;
  const alg = h.alg === 'HS512' ? 'sha512' : 'sha256';
  return `${input}.${createHmac(alg, secret).update(input).digest('base64url')}`;
}
const claims = (over: Record<string, unknown> = {}) => ({ sub: 'ada@acme.example', jti: randomUUID(), iat: CLOCK, exp: CLOCK + 300, ver: '1.1', ...over });
const without = (key: string) => {
  const c: Record<string, unknown> = claims();
  delete c[key];
  return c;
};

describe('fake Sigma (enforces the contract in the README)', () => {
  let fake: FakeSigma;
  beforeAll(async () => {
    fake = await startFakeSigma({ clientId: CLIENT, secret: SECRET, organization: ORG, teams: ['Analysts'], accountTypes: ['Viewer'], now: () => CLOCK });
  });
  afterAll(async () => {
    await fake.close();
  });

  const open = (token: string, org = ORG, embed = ':embed=true') => fetch(`${fake.url}/${org}/workbook/Sales-1a2b3c?:jwt=${token}&${embed}`);

  it('shows the workbook for a token made by the rules, once', async () => {
    const token = sign(claims({ first_name: 'Ada', user_attributes: { region: 'emea' }, teams: ['Analysts'], account_type: 'Viewer' }));
    const res = await open(token);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("type: 'workbook:loaded'");
    expect(fake.embeds[fake.embeds.length - 1]).toMatchObject({ workbook: 'Sales-1a2b3c', claims: { sub: 'ada@acme.example', teams: ['Analysts'] } });
    expect((await open(token)).status).toBe(401);
  });

  it.each([
    ['another organization', () => open(sign(claims()), 'other-org')],
    [':embed=true missing', () => open(sign(claims()), ORG, ':embed=false')],
    [':jwt missing', () => fetch(`${fake.url}/${ORG}/workbook/Sales-1a2b3c?:embed=true`)],
  ])('refuses the URL with %s', async (_why, call) => {
    expect((await call()).status).toBe(401);
  });

  const unsigned = `${b64({ alg: 'none', typ: 'JWT', kid: CLIENT })}.${b64(claims())}.`;
  it.each<[string, string]>([
    ['signed with another secret', sign(claims(), {}, 'another-secret-0123456789abcdef0123456789abcdef')],
    ['alg none', unsigned],
    ['alg HS512', sign(claims(), { alg: 'HS512' })],
    ['kid not the client id', sign(claims(), { kid: 'other-client' })],
    ['kid missing', sign(claims(), { kid: undefined })],
    ['sub missing', sign(without('sub'))],
    ['sub not an email', sign(claims({ sub: 'ada' }))],
    ['jti missing', sign(without('jti'))],
    ['iat missing', sign(without('iat'))],
    ['iat not whole seconds', sign(claims({ iat: CLOCK + 0.5 }))],
    ['iat in the future', sign(claims({ iat: CLOCK + 60 }))],
    ['exp missing', sign(without('exp'))],
    ['exp passed', sign(claims({ exp: CLOCK - 1 }))],
    ['exp more than 30 days after iat', sign(claims({ iat: CLOCK - 10, exp: CLOCK + 30 * 24 * 3600 }))],
    ['ver not 1.1', sign(claims({ ver: '2' }))],
    ['first_name not a string', sign(claims({ first_name: 7 }))],
    ['user_attributes an array', sign(claims({ user_attributes: ['emea'] }))],
    ['user_attributes with a number', sign(claims({ user_attributes: { region: 7 } }))],
    ['teams a string', sign(claims({ teams: 'Analysts' }))],
    ['teams naming a team that does not exist', sign(claims({ teams: ['Analysts', 'Admins'] }))],
    ['account_type not one of the organization', sign(claims({ account_type: 'Admin' }))],
    ['not a JWT', 'not-a-jwt'],
  ])('refuses a token with %s', (_why, token) => {
    expect(fake.verify(token)).toMatchObject({ ok: false });
  });
});
