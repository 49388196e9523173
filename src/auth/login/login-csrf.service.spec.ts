import type { Request, Response } from 'express';
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/configuration';
import type { SessionsService } from '../sessions.service';
import { LoginCsrfService } from './login-csrf.service';

/** A service over a fixed key; only cookieOptions is asked of the sessions service. */
function service(secure = false, key = randomBytes(32)): LoginCsrfService {
  const sessions = { cookieOptions: () => ({ httpOnly: true, secure, sameSite: secure ? 'none' : 'lax', path: '/', maxAge: 1000 }) } as unknown as SessionsService;
  return new LoginCsrfService({ key } as unknown as Config<'secrets'>, { secureCookies: secure } as Config<'app'>, sessions);
}

/** A request carrying `cookies` (as cookie-parser and hostPrefixedCookies leave them). */
const req = (cookies: Record<string, unknown>) => ({ cookies }) as unknown as Request;

/** A response that records res.cookie calls. */
function res(): Response & { set: [string, string, Record<string, unknown>][] } {
  const set: [string, string, Record<string, unknown>][] = [];
  return { set, cookie: (n: string, v: string, o: Record<string, unknown>) => set.push([n, v, o]) } as unknown as Response & { set: typeof set };
}

const SESSION_ID = 'a'.repeat(64);
const COOKIE = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde';

describe('LoginCsrfService: tokens bound to what they protect', () => {
  it('the login token verifies with the cookie it was issued for, and with no other', () => {
    const csrf = service();
    const r = res();
    const token = csrf.forLoginForm(req({}), r);
    const [[name, value]] = r.set;
    expect(name).toBe('eidp_csrf');
    expect(csrf.verifyLoginForm(req({ eidp_csrf: value }), token)).toBe(true);
    expect(csrf.verifyLoginForm(req({ eidp_csrf: COOKIE }), token)).toBe(false);
    expect(csrf.verifyLoginForm(req({}), token)).toBe(false);
  });

  it('keeps an existing well-formed cookie (two tabs) and replaces a malformed one', () => {
    const csrf = service();
    const kept = res();
    csrf.forLoginForm(req({ eidp_csrf: COOKIE }), kept);
    expect(kept.set).toEqual([]);
    const replaced = res();
    csrf.forLoginForm(req({ eidp_csrf: ['j:', COOKIE] }), replaced);
    expect(replaced.set).toHaveLength(1);
  });

  it('sets the CSRF cookie as __Host-eidp_csrf over https', () => {
    const r = res();
    service(true).forLoginForm(req({}), r);
    expect(r.set[0][0]).toBe('__Host-eidp_csrf');
    expect(r.set[0][2]).toMatchObject({ secure: true, path: '/' });
  });

  it('the console token verifies for its session only', () => {
    const csrf = service();
    const token = csrf.forSession(SESSION_ID);
    expect(csrf.verifySession(SESSION_ID, token)).toBe(true);
    expect(csrf.verifySession('b'.repeat(64), token)).toBe(false);
    expect(csrf.verifySession(null, token)).toBe(false);
    expect(csrf.verifySession(undefined, token)).toBe(false);
  });

  it('a token of one purpose is never a token of the other, even over the same value', () => {
    const csrf = service();
    // The same string as a session id and as a pre-session cookie value.
    const loginToken = csrf.forLoginForm(req({ eidp_csrf: COOKIE }), res());
    expect(csrf.verifySession(COOKIE, loginToken)).toBe(false);
    const consoleToken = csrf.forSession(COOKIE);
    expect(csrf.verifyLoginForm(req({ eidp_csrf: COOKIE }), consoleToken)).toBe(false);
    expect(loginToken).not.toBe(consoleToken);
  });

  it('a token made under another key is refused (SECRETS_KEY is the secret)', () => {
    const other = service().forSession(SESSION_ID);
    expect(service().verifySession(SESSION_ID, other)).toBe(false);
  });

  it.each<[string, unknown]>([
    ['missing', undefined],
    ['empty', ''],
    ['an array', ['x']],
    ['a number', 1],
    ['over 100 characters', 'a'.repeat(101)],
  ])('refuses a submitted token that is %s', (_name, submitted) => {
    const csrf = service();
    expect(csrf.verifySession(SESSION_ID, submitted)).toBe(false);
    expect(csrf.verifyLoginForm(req({ eidp_csrf: COOKIE }), submitted)).toBe(false);
  });
});
