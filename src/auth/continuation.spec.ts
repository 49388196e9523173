import { basePathOf, isOwnAbsoluteUrl, MAX_CONTINUATION_LENGTH, safeContinuation } from './continuation';

const PUBLIC = 'https://idp.example.com';

describe('safeContinuation', () => {
  it.each([
    ['/account', '/account'],
    ['/', '/'],
    ['/sso/mb?return_to=%2Fdashboard%2F1', '/sso/mb?return_to=%2Fdashboard%2F1'],
    ['/sso/mb?return_to=/question/2&x=1#frag', '/sso/mb?return_to=/question/2&x=1#frag'],
    ['/a/../b', '/b'],
    ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
  ])('allows the path %j as %j', (raw, expected) => {
    expect(safeContinuation(raw, PUBLIC)).toBe(expected);
  });

  it.each([
    ['an absolute URL', 'https://evil.example/x'],
    ['an absolute URL on this very host', 'https://idp.example.com/account'],
    ['a scheme-relative URL', '//evil.example/x'],
    ['a backslash prefix', '/\\evil.example'],
    ['a backslash anywhere', '/a\\b'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a data: URL', 'data:text/html,hi'],
    ['a relative path', 'account'],
    ['a dot path', './account'],
    ['a tab inside', '/\t/evil.example'],
    ['a newline inside', '/x\r\nSet-Cookie: a=b'],
    ['a NUL', '/x\u0000'],
    ['dot segments folding into //', '/.//evil.example'],
    ['dot-dot segments folding into //', '/..//evil.example'],
    ['an empty string', ''],
    ['an overlong path', `/${'a'.repeat(MAX_CONTINUATION_LENGTH)}`],
  ])('refuses %s', (_what, raw) => {
    expect(safeContinuation(raw, PUBLIC)).toBeNull();
  });

  it.each([undefined, null, 42, ['/a'], { path: '/a' }])('refuses the non-string %j', (raw) => {
    expect(safeContinuation(raw, PUBLIC)).toBeNull();
  });

  it('keeps to the base path of a PUBLIC_URL that has one', () => {
    expect(safeContinuation('/idp/sso/mb?return_to=%2F', 'https://example.com/idp')).toBe('/idp/sso/mb?return_to=%2F');
    expect(safeContinuation('/idp', 'https://example.com/idp/')).toBe('/idp');
    expect(safeContinuation('/sso/mb', 'https://example.com/idp')).toBeNull();
    expect(safeContinuation('/idpx/a', 'https://example.com/idp')).toBeNull();
    expect(safeContinuation('/idp/../other', 'https://example.com/idp')).toBeNull();
    expect(safeContinuation('//example.com/idp', 'https://example.com/idp')).toBeNull();
  });
});

describe('isOwnAbsoluteUrl', () => {
  it('accepts a URL on PUBLIC_URL', () => {
    expect(isOwnAbsoluteUrl('https://idp.example.com/login?x=1', PUBLIC)).toBe(true);
    expect(isOwnAbsoluteUrl('https://example.com/idp/bye', 'https://example.com/idp')).toBe(true);
    expect(isOwnAbsoluteUrl('https://example.com/idp', 'https://example.com/idp')).toBe(true);
  });

  it.each([
    ['another host', 'https://evil.example/'],
    ['a look-alike host', 'https://idp.example.com.evil.example/'],
    ['another scheme', 'http://idp.example.com/'],
    ['another port', 'https://idp.example.com:8443/'],
    ['credentials', 'https://user:pw@idp.example.com/'],
    ['a path', '/account'],
    ['not a URL', 'nope'],
  ])('refuses %s', (_what, raw) => {
    expect(isOwnAbsoluteUrl(raw, PUBLIC)).toBe(false);
  });

  it('refuses a path outside the base path', () => {
    expect(isOwnAbsoluteUrl('https://example.com/other', 'https://example.com/idp')).toBe(false);
    expect(isOwnAbsoluteUrl('https://example.com/idpx', 'https://example.com/idp')).toBe(false);
  });
});

describe('basePathOf', () => {
  it.each([
    ['https://idp.example.com', ''],
    ['https://idp.example.com/', ''],
    ['https://example.com/idp', '/idp'],
    ['https://example.com/a/b/', '/a/b'],
  ])('%s -> %j', (url, base) => {
    expect(basePathOf(url)).toBe(base);
  });
});
