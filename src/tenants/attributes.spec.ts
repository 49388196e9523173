import { attributeProblems } from './attributes';

/** The attribute rule tenants and users share. */
describe('attributeProblems', () => {
  it('accepts a flat object of strings, numbers and booleans', () => {
    expect(attributeProblems({ region: 'emea', seats: 25, ratio: 0.5, beta: false, 'a.b-c_d': 'x', _x: '' })).toEqual([]);
    expect(attributeProblems({})).toEqual([]);
  });

  it.each([
    [{ nested: { a: 1 } }, 'attributes.nested must be text, a number or true/false (got an object)'],
    [{ list: ['a'] }, 'attributes.list must be text, a number or true/false (got an array)'],
    [{ nothing: null }, 'attributes.nothing must be text, a number or true/false (got null)'],
  ])('refuses %j naming the key', (value, message) => {
    expect(attributeProblems(value)).toEqual([message]);
  });

  it('refuses a non-object', () => {
    for (const v of [null, [], 'x', 3]) {
      expect(attributeProblems(v)).toEqual(['attributes must be a JSON object whose values are text, numbers or true/false']);
    }
  });

  it('refuses bad keys, reserved claim names and too many keys', () => {
    expect(attributeProblems({ '1abc': 'x' })[0]).toContain('"1abc"');
    expect(attributeProblems({ '@tenant': 'x' })[0]).toContain('"@tenant"');
    expect(attributeProblems({ ['k'.repeat(65)]: 'x' })[0]).toContain('at most 64 characters');
    expect(attributeProblems({ exp: 1 })).toEqual(['attributes key "exp" is reserved (a registered JWT claim name)']);
    expect(attributeProblems(JSON.parse('{"__proto__": "x"}'))[0]).toContain('"__proto__" is reserved');
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]));
    expect(attributeProblems(many)).toEqual(['attributes may hold at most 50 keys (got 51)']);
  });

  it('refuses a string value over 1024 characters', () => {
    expect(attributeProblems({ long: 'x'.repeat(1025) }, 'user.attributes')).toEqual(['user.attributes.long must be at most 1024 characters']);
  });
});
