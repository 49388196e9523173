import { sha256Hex } from '../crypto/tokens';
import { SessionsService } from './sessions.service';

describe('SessionsService.idFromCookie', () => {
  const token = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde';

  it('maps a token of the issued form to its SHA-256 (what sessions.id stores)', () => {
    expect(token).toHaveLength(43);
    expect(SessionsService.idFromCookie(token)).toBe(sha256Hex(token));
  });

  // cookie-parser parses `j:`-prefixed values as JSON, so the cookie can be any JSON value.
  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['empty', ''],
    ['an array (j:["x"])', ['x']],
    ['an array of the right token', [token]],
    ['an object', { a: 1 }],
    ['a number', 123],
    ['too short', token.slice(1)],
    ['too long', `${token}a`],
    ['padded base64', `${token.slice(0, 42)}=`],
    ['standard base64 alphabet', `${token.slice(0, 42)}+`],
    ['with a NUL', `${token.slice(0, 42)}\u0000`],
    ['huge', 'a'.repeat(100_000)],
  ])('refuses %s', (_name, value) => {
    expect(SessionsService.idFromCookie(value)).toBeNull();
  });
});
