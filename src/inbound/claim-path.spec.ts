import { claimAt, groupsFrom } from './claim-path';

describe('claimAt', () => {
  const payload = {
    email: 'a@b.example',
    'https://acme.example/groups': ['x'],
    realm_access: { roles: ['analysts', 'admins'] },
    nested: { 'a.b': 1, list: [{ x: 1 }] },
  };

  it('reads a claim by its exact name, dots included (namespaced claims)', () => {
    expect(claimAt(payload, 'email')).toBe('a@b.example');
    expect(claimAt(payload, 'https://acme.example/groups')).toEqual(['x']);
  });

  it('walks a dotted path through nested objects', () => {
    expect(claimAt(payload, 'realm_access.roles')).toEqual(['analysts', 'admins']);
  });

  it('is undefined for a missing path, a path through a non-object, and inherited properties', () => {
    expect(claimAt(payload, 'realm_access.missing')).toBeUndefined();
    expect(claimAt(payload, 'email.length')).toBeUndefined();
    expect(claimAt(payload, 'nested.list.0')).toBeUndefined();
    expect(claimAt(payload, 'constructor')).toBeUndefined();
    expect(claimAt(payload, '__proto__.toString')).toBeUndefined();
  });
});

describe('groupsFrom', () => {
  it('takes arrays of strings, one string, and nothing else', () => {
    expect(groupsFrom([' a ', 2, 'b'])).toEqual(['a', 'b']);
    expect(groupsFrom('solo')).toEqual(['solo']);
    expect(groupsFrom({ a: 1 })).toBeUndefined();
    expect(groupsFrom(undefined)).toBeUndefined();
  });
});
