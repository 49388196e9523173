import { DomainError } from '../common/errors';
import { ownerWords, PasswordPolicy } from './password-policy';

describe('PasswordPolicy', () => {
  const policy = new PasswordPolicy();
  const ada = { email: 'ada.lovelace@acme.test', firstName: 'Ada', lastName: 'Lovelace' };
  afterAll(() => policy.onModuleDestroy());

  it('accepts a long phrase of unrelated words', async () => {
    await expect(policy.problem('a bystander with a password of her own', ada)).resolves.toBeNull();
    await expect(policy.problem('correct horse battery staple', ada)).resolves.toBeNull();
  });

  it.each([
    ['password1234', /too easy to guess\. This is similar to a commonly used password\./],
    ['aaaaaaaaaaaaaaaa', /too easy to guess\..*Repeated characters/],
    ['qwertyuiop123', /too easy to guess/],
    ['short', /at least 12 characters/],
    ['x'.repeat(257), /at most 256 characters/],
    ['Ada.Lovelace@acme.test', /must not contain your email address or your name/],
    ['my name is lovelace, hi', /must not contain your email address or your name/],
  ])('refuses %j in words', async (password, message) => {
    await expect(policy.problem(password, ada)).resolves.toMatch(message);
  });

  it('counts characters as people do (an emoji is one), after NFKC', async () => {
    await expect(policy.problem('🔒'.repeat(11), ada)).resolves.toMatch(/at least 12/);
  });

  it('check() throws a 400 weak_password', async () => {
    const e = await policy.check('password1234', ada).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(DomainError);
    expect(e).toMatchObject({ status: 400, code: 'weak_password' });
  });

  it('ownerWords: the email, its local part and its pieces, the names; nothing under 3 characters', () => {
    expect(ownerWords({ email: 'Al.B-c@x.io', firstName: 'Al', lastName: 'de Vries' }).sort()).toEqual(['al.b-c', 'al.b-c@x.io', 'vries'].sort());
  });
});
