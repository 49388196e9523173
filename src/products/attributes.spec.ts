import { AttributeLayers, resolveAttribute, resolveAttributes } from './attributes';

/** access > user > tenant: what the global key set (the access) is never overridden. */
describe('attribute resolution (access > user > tenant)', () => {
  const layers = (tenant?: object, user?: object, access?: object): AttributeLayers => ({
    tenant: tenant && { attributes: tenant as never },
    user: user && { attributes: user as never },
    access: access && { attributes: access as never },
  });

  it.each([
    ['only the tenant has it', layers({ c: 't' }, {}, {}), 't'],
    ['only the user has it', layers({}, { c: 'u' }, {}), 'u'],
    ['only the access has it', layers({}, {}, { c: 'a' }), 'a'],
    ['user over tenant', layers({ c: 't' }, { c: 'u' }, {}), 'u'],
    ['access over user', layers({}, { c: 'u' }, { c: 'a' }), 'a'],
    ['access over tenant', layers({ c: 't' }, {}, { c: 'a' }), 'a'],
    ['access over both', layers({ c: 't' }, { c: 'u' }, { c: 'a' }), 'a'],
    ['a false access value still wins', layers({ c: true }, { c: true }, { c: false }), false],
    ['a zero access value still wins', layers({ c: 1 }, { c: 2 }, { c: 0 }), 0],
    ['an empty string access value still wins', layers({ c: 't' }, { c: 'u' }, { c: '' }), ''],
    ['a non-flat value counts as absent', layers({ c: 't' }, { c: 'u' }, { c: { x: 1 } }), 'u'],
    ['a null counts as absent', layers({ c: 't' }, { c: null }, {}), 't'],
    ['nobody has it', layers({ x: 1 }, { y: 2 }, { z: 3 }), undefined],
    ['missing layers', layers(undefined, undefined, undefined), undefined],
    ['an inherited name is not an attribute', layers({}, {}, {}), undefined],
  ])('%s', (_name, l, expected) => {
    expect(resolveAttribute(l, _name === 'an inherited name is not an attribute' ? 'toString' : 'c')).toBe(expected);
    const all = resolveAttributes(l);
    if (expected === undefined) expect(all).not.toHaveProperty('c');
    else expect(all.c).toBe(expected);
  });

  it('merges every attribute by the same rule as the single lookup', () => {
    const l = layers({ a: 1, b: 1, c: 1 }, { b: 2, c: 2, d: 2 }, { c: 3, e: 3 });
    expect(resolveAttributes(l)).toEqual({ a: 1, b: 2, c: 3, d: 2, e: 3 });
    for (const k of ['a', 'b', 'c', 'd', 'e']) expect(resolveAttribute(l, k)).toBe(resolveAttributes(l)[k]);
  });
});
