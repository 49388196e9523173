import { isSecretParam, redactUrl } from './logging';

describe('redactUrl', () => {
  it.each<[string | undefined, string | undefined]>([
    [undefined, undefined],
    ['', ''],
    ['/sso/metabase', '/sso/metabase'],
    ['/sso/metabase?return_to=%2Fdashboard%2F1', '/sso/metabase?return_to=%2Fdashboard%2F1'],
    ['/x?jwt=eyJabc.def.ghi', '/x?jwt=[redacted]'],
    ['/x?token=abc&next=/a', '/x?token=[redacted]&next=/a'],
    ['/x?access_token=abc', '/x?access_token=[redacted]'],
    ['/x?refresh_token=abc&id_token=def', '/x?refresh_token=[redacted]&id_token=[redacted]'],
    ['/x?api_key=abc', '/x?api_key=[redacted]'],
    ['/x?apiKey=abc', '/x?apiKey=[redacted]'],
    ['/x?API-KEY=abc', '/x?API-KEY=[redacted]'],
    ['/x?client_secret=abc', '/x?client_secret=[redacted]'],
    ['/x?password=hunter2&user=a', '/x?password=[redacted]&user=a'],
    ['/x?new_passwd=abc', '/x?new_passwd=[redacted]'],
    ['/x?SAMLAssertion=abc', '/x?SAMLAssertion=[redacted]'],
    ['/x?assertion=abc', '/x?assertion=[redacted]'],
    ['/x?code=abc&state=s', '/x?code=[redacted]&state=s'],
    ['/x?Signature=abc', '/x?Signature=[redacted]'],
    ['/x?a=1&access_token=abc&b=2', '/x?a=1&access_token=[redacted]&b=2'],
    ['/x?access%5Ftoken=abc', '/x?access%5Ftoken=[redacted]'],
    ['/x?jwt=a&jwt=b', '/x?jwt=[redacted]&jwt=[redacted]'],
    ['/x?jwt=', '/x?jwt=[redacted]'],
    ['/x?jwt=a=b=c', '/x?jwt=[redacted]'],
    ['/x?%E0%A4%A=1', '/x?%E0%A4%A=1'],
    ['/x?flag&token=abc', '/x?flag&token=[redacted]'],
    ['/x?token=abc#frag', '/x?token=[redacted]#frag'],
    ['/x?', '/x?'],
  ])('%j -> %j', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it.each(['token', 'x_token', 'KEY', 'monkey', 'secretive', 'code', 'CODE', 'jwt_assertion'])('%s is secret', (name) => {
    expect(isSecretParam(name)).toBe(true);
  });

  it.each(['return_to', 'next', 'tenant', 'state', 'zipcode', 'response'])('%s is not', (name) => {
    expect(isSecretParam(name)).toBe(false);
  });
});
