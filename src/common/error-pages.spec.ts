import { copyFor, errorPage, retryPathOf } from './error-pages';

/** Error pages speak to people: a title without codes, a sentence, a way on, the reference. */
describe('error pages', () => {
  const CODES: [number, string][] = [
    [404, 'not_found'], [404, 'target_not_found'], [403, 'target_disabled'], [400, 'invalid_return_to'],
    [400, 'sso_not_supported'], [400, 'embed_not_supported'], [400, 'invalid_embed_kind'], [400, 'invalid_id'],
    [401, 'no_session'], [401, 'unauthorized'], [403, 'no_access'], [403, 'account_disabled'], [409, 'identity_conflict'],
    [403, 'origin_not_allowed'], [429, 'too_many_sign_ins'], [429, 'too_many_requests'], [409, 'target_secret_missing'],
    [409, 'metabase_tenant_slug_invalid'], [400, 'locked_param_missing'], [413, 'payload_too_large'], [400, 'malformed_body'], [400, 'undecodable_body'], [415, 'unsupported_content_encoding'],
    [400, 'validation_failed'], [403, 'forbidden'], [500, 'internal_error'], [503, 'service_unavailable'], [418, 'i_am_a_teapot'],
  ];

  it.each(CODES)('%i %s: a human title and sentence, no code in the title', (status, code) => {
    const c = copyFor(status, code);
    expect(c.title).not.toMatch(/_|\d{3}|error/i);
    expect(c.sentence).toMatch(/^[A-Z].{20,}\.$/);
  });

  it('a link to a product URL the target does not serve (a workbook link of a Tableau target) says the link does not work, as for SSO', () => {
    expect(copyFor(400, 'token_not_supported')).toEqual(copyFor(400, 'sso_not_supported'));
    // A key-pair target without a signing key is a target not fully set up.
    expect(copyFor(409, 'target_no_signing_key')).toEqual(copyFor(409, 'target_secret_missing'));
  });

  it('a 5xx always says only that something went wrong, whatever the code', () => {
    expect(copyFor(500, 'no_access').title).toBe('Something went wrong');
  });

  it('offers a way on and the request id, small', () => {
    const html = errorPage({ status: 403, code: 'no_access', requestId: 'req-42', basePath: '/idp', tenant: null, retryPath: null }).html;
    expect(html).toContain('<title>No access</title>');
    expect(html).toContain('href="/idp/logout?return_to=%2Fidp%2Flogin"');
    expect(html).toContain('<p class="ref">Reference for support: <code>req-42</code>');
    expect(html).toContain('contact your administrator');
  });

  it('in the tenant\'s look, with its support contact and a way back to its app', () => {
    const html = errorPage({
      status: 500, code: 'internal_error', requestId: 'r', basePath: '', retryPath: '/sso/mb?return_to=%2F',
      tenant: { slug: 'acme', brand: { name: 'Acme', logoUrl: null, accentColor: '#0a5d3a', supportContact: 'help@acme.example', appUrl: 'https://app.acme.example/' } },
    }).html;
    expect(html).toContain('<a class="button" href="/sso/mb?return_to=%2F">Try again</a>');
    expect(html).toContain('<a href="https://app.acme.example/">Back to “Acme”</a>');
    // The tenant's own words are labelled as its own, never one of our sentences.
    expect(html).toContain('<span><small>Your organization</small>Acme</span>');
    expect(html).toContain('Contact your organization (“Acme”)');
    expect(html).toContain('<a href="mailto:help@acme.example">help@acme.example</a>');
    expect(html).toContain('--accent:#0a5d3a');
  });

  it.each([
    ['GET', '/sso/mb?return_to=%2F', '/idp/sso/mb?return_to=%2F'],
    ['HEAD', '/', '/idp/'],
    ['POST', '/logout', null],
    ['GET', '//evil.example/x', null],
    ['GET', '/\\evil.example/x', null],
    ['GET', '/\t/evil.example/x', null],
    ['GET', '/a b', null],
    ['GET', 'https://evil.example/', null],
  ])('"Try again" for %s %j: %j', (method, url, expected) => {
    expect(retryPathOf(method, url, '/idp')).toBe(expected);
  });
});
