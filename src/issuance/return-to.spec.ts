import { parseSsoQuery } from './return-to';

describe('parseSsoQuery', () => {
  it('rebuilds a return_to whose own query string Metabase did not encode', () => {
    expect(parseSsoQuery('/sso/mb?return_to=/question/1?a=1&b=2')).toEqual({ returnTo: '/question/1?a=1&b=2' });
  });

  it('keeps our parameters that come before return_to, and the ones after it stay in the path', () => {
    expect(parseSsoQuery('/sso/mb?tenant=acme&return_to=/dashboard/3?tenant=x&tab=2')).toEqual({
      tenant: 'acme',
      returnTo: '/dashboard/3?tenant=x&tab=2',
    });
  });

  it('takes back response=json appended after return_to (the SDK appends it)', () => {
    expect(parseSsoQuery('/sso/mb?return_to=/q/1?a=1&response=json')).toEqual({ returnTo: '/q/1?a=1', response: 'json' });
  });

  it('reads response without return_to', () => {
    expect(parseSsoQuery('/sso/mb?response=json')).toEqual({ response: 'json' });
    expect(parseSsoQuery('/sso/mb')).toEqual({});
  });

  it('decodes a properly encoded return_to once, and leaves a raw one alone', () => {
    expect(parseSsoQuery('/sso/mb?return_to=%2Fq%2F1%3Fa%3D1%26b%3D2').returnTo).toBe('/q/1?a=1&b=2');
    expect(parseSsoQuery('/sso/mb?return_to=https%3A%2F%2Fmb.example.com%2Fq%2F1').returnTo).toBe('https://mb.example.com/q/1');
    // A raw path keeps its encoded characters: %26 inside a value must not become a real '&'.
    expect(parseSsoQuery('/sso/mb?return_to=/q/1?name=a%26b').returnTo).toBe('/q/1?name=a%26b');
  });

  it('does not mistake a parameter merely ending in return_to for it', () => {
    expect(parseSsoQuery('/sso/mb?x_return_to=/evil&return_to=/ok')).toEqual({ returnTo: '/ok' });
    expect(parseSsoQuery('/sso/mb?x_return_to=/evil')).toEqual({});
  });

  it('survives malformed percent-encoding', () => {
    expect(parseSsoQuery('/sso/mb?tenant=%E0%A4%A&return_to=%2F%E0%A4%A').returnTo).toBeUndefined();
  });
});
