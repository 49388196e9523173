import * as fc from 'fast-check';
import { createHash } from 'node:crypto';
import { brandStyle, contrastRatio, renderPage, supportHref, textOn } from './look';
import { httpsUrl } from './redirects';
import { LOOK_STYLE, LOOK_STYLE_HASH } from './look-style';
import { html } from './html';

const hex = fc.integer({ min: 0, max: 0xffffff }).map((n) => `#${n.toString(16).padStart(6, '0')}`);
const styles = (html: string) => [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]);
const sha = (css: string) => `'sha256-${createHash('sha256').update(css, 'utf8').digest('base64')}'`;

describe('contrast (WCAG 2.x)', () => {
  it('knows the extremes', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrastRatio('#777777', '#777777')).toBeCloseTo(1, 5);
    expect(textOn('#ffff00')).toBe('#000000');
    expect(textOn('#1d2330')).toBe('#ffffff');
    expect(textOn('#2456c7')).toBe('#ffffff');
  });

  it('text on any accent colour reads at WCAG AA (4.5:1) at least', () => {
    fc.assert(
      fc.property(hex, (accent) => contrastRatio(accent, textOn(accent)) >= 4.5),
      { numRuns: 5000 },
    );
  });

  it('makes the accent the link colour only where it reads on the card', () => {
    expect(brandStyle('#0a5d3a')).toContain('@media not (prefers-color-scheme:dark){:root{--link:#0a5d3a}}');
    expect(brandStyle('#ffd500')).not.toContain('not (prefers-color-scheme:dark)');
    expect(brandStyle('#ffd500')).toContain('@media (prefers-color-scheme:dark){:root{--link:#ffd500}}');
  });
});

describe('branding rules', () => {
  it.each([
    ['https://cdn.acme.example/logo.svg', 'https://cdn.acme.example/logo.svg'],
    ['https://CDN.acme.example:8443/a b'.replace(' ', '%20'), 'https://cdn.acme.example:8443/a%20b'],
    ['http://cdn.acme.example/logo.svg', null],
    ['javascript:alert(1)', null],
    ['data:image/svg+xml,<svg onload=alert(1)>', null],
    ['https://user:pw@cdn.acme.example/logo.svg', null],
    ['https://cdn.acme.example/logo.svg" onerror="alert(1)', null],
    ['//cdn.acme.example/logo.svg', null],
    [`https://x.example/${'a'.repeat(2048)}`, null],
    [42, null],
  ])('httpsUrl(%j) = %j', (input, expected) => {
    expect(httpsUrl(input)).toBe(expected);
  });

  it.each([
    ['help@acme.example', 'mailto:help@acme.example'],
    ['https://acme.example/support', 'https://acme.example/support'],
    ['mailto:help@acme.example', null],
    ['javascript:alert(1)//@acme.example', null],
    ['help@acme.example?cc=x@evil.example', null],
    ['"><script>@acme.example', null],
    ['not an address', null],
  ])('supportHref(%j) = %j', (input, expected) => {
    expect(supportHref(input)).toBe(expected);
  });

  it('refuses anything but #rrggbb as a colour', () => {
    for (const bad of ['red', '#fff', '#FFFFFF', '#12345g', '#1234567', '#123456;}body{display:none', '']) expect(brandStyle(bad)).toBe('');
  });
});

describe('renderPage', () => {
  it('allows exactly its own styles: the shared one by the fixed hash, the brand one by its own', () => {
    const page = renderPage({ title: 't', main: html`<p>x</p>`, brand: { name: 'Acme', logoUrl: 'https://cdn.acme.example/l.png', accentColor: '#ffd500', supportContact: null } });
    const [shared, brand] = styles(page.html);
    expect(shared).toBe(LOOK_STYLE);
    expect(sha(shared)).toBe(LOOK_STYLE_HASH);
    expect(page.csp.styleHashes).toEqual([sha(brand)]);
    expect(brand).toContain('--on-accent:#000000');
    expect(page.csp.imgOrigins).toEqual(['https://cdn.acme.example']);
    expect(page.html).not.toMatch(/<script|\sstyle=|\son\w+=/i);
  });

  it('allows a page\'s own extra stylesheet by its hash, before the brand\'s colours', () => {
    const page = renderPage({ title: 't', main: html``, extraStyle: '.console{display:grid}', brand: { name: 'A', logoUrl: null, accentColor: '#0a5d3a', supportContact: null } });
    const [, extra, brand] = styles(page.html);
    expect(extra).toBe('.console{display:grid}');
    expect(page.csp.styleHashes).toEqual([sha(extra), sha(brand)]);
  });

  it('escapes a brand name and drops a logo, colour or contact that breaks the rules (a bad row never becomes markup)', () => {
    const page = renderPage({
      title: '<script>alert(1)</script>',
      main: html``,
      brand: { name: '<img src=x onerror=alert(1)>', logoUrl: 'javascript:alert(1)', accentColor: 'red}body{display:none', supportContact: 'javascript:alert(1)' },
    });
    expect(page.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page.html).toContain('<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>');
    expect(page.html).not.toContain('javascript:');
    expect(page.html).not.toContain('display:none');
    expect(styles(page.html)).toEqual([LOOK_STYLE]);
    expect(page.csp).toEqual({ styleHashes: [], imgOrigins: [], frameOrigins: [] });
  });
});
