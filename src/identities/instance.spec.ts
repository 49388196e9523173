import { biInstance, emailDomain } from './instance';

describe('biInstance: one BI instance, however its URL is spelled', () => {
  it.each([
    ['https://bi.example.com', 'https://bi.example.com'],
    ['HTTPS://BI.Example.COM/', 'https://bi.example.com'],
    ['https://bi.example.com:443/metabase/', 'https://bi.example.com'],
    ['http://bi.example.com:80', 'http://bi.example.com'],
    ['http://bi.example.com:8080/x', 'http://bi.example.com:8080'],
    ['https://bi.example.com:8443', 'https://bi.example.com:8443'],
    ['http://127.0.0.1:3000/', 'http://127.0.0.1:3000'],
    ['http://[::1]:3000', 'http://[::1]:3000'],
    ['ftp://bi.example.com', null],
    ['not a url', null],
  ])('%s -> %s', (url, expected) => {
    expect(biInstance(url)).toBe(expected);
  });

  it('http and https of one host are two instances (two servers as far as we can tell)', () => {
    expect(biInstance('http://bi.example.com')).not.toBe(biInstance('https://bi.example.com'));
  });

  it.each([
    ['ada@Example.COM', 'example.com'],
    ['"a@b"@example.org', 'example.org'],
  ])('emailDomain(%s) = %s', (email, domain) => {
    expect(emailDomain(email)).toBe(domain);
  });
});
