import type { Request, Response } from 'express';
import { hostPrefixedCookies, wireCookieName } from './cookie-names';
import { crossSiteSource } from './same-origin';

describe('crossSiteSource', () => {
  const PUBLIC = 'https://idp.example/base';

  it.each<[string, Record<string, string>, string | null]>([
    ['our origin', { origin: 'https://idp.example' }, null],
    ['our origin, upper-case host', { origin: 'https://IDP.example' }, null],
    ['our origin with same-origin fetch metadata', { origin: 'https://idp.example', 'sec-fetch-site': 'same-origin' }, null],
    ['no headers (not a browser)', {}, null],
    ['Origin null (no-referrer page) and same-origin', { origin: 'null', 'sec-fetch-site': 'same-origin' }, null],
    ['typed by the user', { 'sec-fetch-site': 'none' }, null],
    ['another site', { origin: 'https://evil.example' }, 'https://evil.example'],
    ['a sibling subdomain', { origin: 'https://app.idp.example' }, 'https://app.idp.example'],
    ['our host over http', { origin: 'http://idp.example' }, 'http://idp.example'],
    ['our host on another port', { origin: 'https://idp.example:8443' }, 'https://idp.example:8443'],
    ['Origin null from another site (sandboxed frame)', { origin: 'null', 'sec-fetch-site': 'cross-site' }, 'Sec-Fetch-Site: cross-site'],
    ['same-site without Origin', { 'sec-fetch-site': 'same-site' }, 'Sec-Fetch-Site: same-site'],
    ['our Origin but cross-site fetch metadata: either refuses', { origin: 'https://idp.example', 'sec-fetch-site': 'cross-site' }, 'Sec-Fetch-Site: cross-site'],
  ])('%s', (_name, headers, expected) => {
    expect(crossSiteSource(headers, PUBLIC)).toBe(expected);
  });
});

describe('__Host- cookie names', () => {
  const run = (secure: boolean, cookies: Record<string, unknown>) => {
    const req = { cookies: { ...cookies } } as unknown as Request;
    let called = false;
    hostPrefixedCookies(secure)(req, {} as Response, () => (called = true));
    expect(called).toBe(true);
    return req.cookies as Record<string, unknown>;
  };

  it('uses the prefix over https only', () => {
    expect(wireCookieName('eidp_session', true)).toBe('__Host-eidp_session');
    expect(wireCookieName('eidp_csrf', false)).toBe('eidp_csrf');
  });

  it('over https, readers see the __Host- cookies under their logical names and never a plain one', () => {
    expect(run(true, { '__Host-eidp_session': 's', eidp_session: 'planted', '__Host-eidp_csrf': 'c', other: 'x' })).toEqual({ eidp_session: 's', eidp_csrf: 'c', other: 'x' });
    expect(run(true, { eidp_session: 'planted', eidp_csrf: 'planted' })).toEqual({});
  });

  it('over http, nothing changes', () => {
    expect(run(false, { eidp_session: 's', '__Host-eidp_session': 'x' })).toEqual({ eidp_session: 's', '__Host-eidp_session': 'x' });
  });
});
