import { hashPassword, PasswordsService } from './passwords.service';

describe('PasswordsService', () => {
  const passwords = new PasswordsService();

  it('hashes with argon2id, m=19456 KiB, t=2, p=1 (OWASP minimum)', async () => {
    const phc = await passwords.hash('correct horse battery staple');
    expect(phc).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([passwords.hash('same password 1'), passwords.hash('same password 1')]);
    expect(a).not.toBe(b);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const phc = await passwords.hash('correct horse battery staple');
    await expect(passwords.verify(phc, 'correct horse battery staple')).resolves.toBe(true);
    await expect(passwords.verify(phc, 'correct horse battery stapl')).resolves.toBe(false);
    await expect(passwords.verify(phc, 'Correct horse battery staple')).resolves.toBe(false);
    await expect(passwords.verify(phc, '')).resolves.toBe(false);
  });

  it('matches a password typed in another Unicode normal form (NFKC)', async () => {
    const phc = await passwords.hash('caf\u00e9-password-1');
    await expect(passwords.verify(phc, 'cafe\u0301-password-1')).resolves.toBe(true);
  });

  it('verifies a hash made with other parameters (the test factories\' cheap ones): verify reads them from the PHC string', async () => {
    const phc = await hashPassword('caf\u00e9-password-1', { algorithm: 2, memoryCost: 8, timeCost: 1, parallelism: 1 });
    expect(phc).toMatch(/^\$argon2id\$v=19\$m=8,t=1,p=1\$/);
    await expect(passwords.verify(phc, 'cafe\u0301-password-1')).resolves.toBe(true);
    await expect(passwords.verify(phc, 'caf\u00e9-password-2')).resolves.toBe(false);
  });

  it('hashPassword defaults to the production parameters', async () => {
    expect(await hashPassword('correct horse battery staple')).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('answers false, not an error, for a stored hash that does not parse', async () => {
    await expect(passwords.verify('not-a-phc-string', 'whatever password')).resolves.toBe(false);
  });

  it('verifyDummy always answers false', async () => {
    await expect(passwords.verifyDummy('correct horse battery staple')).resolves.toBe(false);
    await expect(passwords.verifyDummy('')).resolves.toBe(false);
  });
});
