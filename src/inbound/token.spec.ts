import { storableText } from './token';

describe('storableText', () => {
  it('accepts text Postgres stores, surrogate pairs (emoji) included, at any depth', () => {
    expect(storableText({ name: 'Ada 👩‍💻 Lovelace', groups: ['a', 'b'], n: 1, ok: true, none: null, deep: [{ 'x😀': 'é' }] })).toBe(true);
  });

  it.each([
    ['a NUL', { iss: 'acme\u0000' }],
    ['a lone high surrogate', { jti: 'a\ud800b' }],
    ['a lone low surrogate', { jti: '\udc00' }],
    ['a high surrogate at the end', { n: 'x\ud83d' }],
    ['an unstorable key', { groups: { ['k\u0000']: 1 } }],
    ['an unstorable string deep in an array', { a: [[{ b: ['ok', 'no\udfff'] }]] }],
  ])('refuses %s', (_what, value) => {
    expect(storableText(value)).toBe(false);
  });
});
