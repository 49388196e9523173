import { echoFields, LoginRejected, parseLoginForm } from './login-form';

const PUBLIC = 'https://idp.example.com';
const good = { tenant: 'acme', email: 'Ada@Example.com ', password: ' pass word ', next: '/sso/mb?return_to=%2Fq%2F1' };

function rejection(body: unknown): LoginRejected {
  try {
    parseLoginForm(body, PUBLIC);
  } catch (e) {
    if (e instanceof LoginRejected) return e;
    throw e;
  }
  throw new Error('expected a LoginRejected');
}

describe('parseLoginForm', () => {
  it('normalises the organization and email, keeps the password exactly', () => {
    expect(parseLoginForm({ ...good, tenant: ' ACME ' }, PUBLIC)).toEqual({
      tenant: 'acme',
      email: 'ada@example.com',
      password: ' pass word ',
      next: '/sso/mb?return_to=%2Fq%2F1',
    });
  });

  it('drops a continuation that leaves the service, without refusing the form', () => {
    expect(parseLoginForm({ ...good, next: 'https://evil.example/' }, PUBLIC).next).toBeNull();
    expect(parseLoginForm({ ...good, next: ['/a', '/b'] }, PUBLIC).next).toBeNull();
  });

  it('names every missing field at once, as a 400', () => {
    const e = rejection({});
    expect(e.status).toBe(400);
    expect(Object.keys(e.fieldErrors).sort()).toEqual(['email', 'password', 'tenant']);
  });

  it.each([
    ['tenant', { tenant: 'x'.repeat(64) }, /too long/],
    ['tenant', { tenant: 'not a slug!' }, /short name/],
    ['email', { email: `${'x'.repeat(255)}@e.com` }, /too long/],
    ['email', { email: 'no-at-sign' }, /email address/],
    ['password', { password: 'p'.repeat(1025) }, /too long/],
    ['email', { email: ['a@b.c', 'd@e.f'] }, /once/],
    ['password', { password: { $ne: '' } }, /once/],
  ])('refuses a bad %s (%j)', (field, override, message) => {
    const e = rejection({ ...good, ...override });
    expect(e.status).toBe(400);
    expect(e.fieldErrors[field as 'tenant' | 'email' | 'password']).toMatch(message);
  });

  it('refuses a body that is not an object', () => {
    expect(rejection(undefined).status).toBe(400);
    expect(rejection('tenant=acme').status).toBe(400);
  });
});

describe('echoFields', () => {
  it('gives back what to re-display, never the password', () => {
    const echoed = echoFields(good, PUBLIC);
    expect(echoed).toEqual({ tenant: 'acme', email: 'Ada@Example.com', next: '/sso/mb?return_to=%2Fq%2F1' });
    expect(JSON.stringify(echoed)).not.toContain('pass word');
  });
});
