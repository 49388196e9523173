import { BLOCKED_URL, escapeHtml, html, isSafeUrl, joinHtml, safeUrl, SafeHtml, unsafeRaw } from './html';

const PAYLOAD = `"><script>alert(1)</script>' onmouseover='x`;

describe('html`...`', () => {
  it('escapes a string in element content', () => {
    expect(String(html`<p>${'<script>alert(1)</script> & more'}</p>`)).toBe('<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; more</p>');
  });

  it('escapes both quote kinds in attribute values, so a value cannot end the attribute', () => {
    expect(String(html`<input value="${PAYLOAD}">`)).toBe('<input value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39; onmouseover=&#39;x">');
    expect(String(html`<input value='${PAYLOAD}'>`)).toBe("<input value='&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39; onmouseover=&#39;x'>");
  });

  it('keeps SafeHtml as it is (no double escaping) and escapes inside each nested template', () => {
    const inner = html`<b>${'a & b'}</b>`;
    expect(inner).toBeInstanceOf(SafeHtml);
    expect(String(html`<p>${inner}</p>`)).toBe('<p><b>a &amp; b</b></p>');
    expect(String(html`<div>${html`<p>${html`<i>${'<x>'}</i>`}</p>`}</div>`)).toBe('<div><p><i>&lt;x&gt;</i></p></div>');
  });

  it('concatenates arrays, escaping each string element and keeping each SafeHtml one', () => {
    expect(String(html`<ul>${['<a>', html`<li>ok</li>`, ['<b>', html`<br>`]]}</ul>`)).toBe('<ul>&lt;a&gt;<li>ok</li>&lt;b&gt;<br></ul>');
    expect(String(html`<ul>${[]}</ul>`)).toBe('<ul></ul>');
  });

  it('renders null, undefined and false as nothing, and numbers as text', () => {
    const no: string | null = null;
    expect(String(html`[${null}${undefined}${false}${no && html`<x>`}]`)).toBe('[]');
    expect(String(html`${0} ${1.5} ${-3}`)).toBe('0 1.5 -3');
  });

  it('does not accept a plain object posing as SafeHtml', () => {
    const fake = { toString: () => '<script>alert(1)</script>' } as unknown as string;
    expect(String(html`${fake}`)).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(() => new (SafeHtml as unknown as new (t: symbol, m: string) => SafeHtml)(Symbol('SafeHtml'), '<x>')).toThrow(TypeError);
  });

  it('unsafeRaw passes trusted markup through unchanged (CSS a CSP hash covers)', () => {
    const css = 'body{font-family:"Segoe UI"}.row>*{flex:1}';
    expect(String(html`<style>${unsafeRaw(css)}</style>`)).toBe(`<style>${css}</style>`);
    expect(String(html`<style>${css}</style>`)).not.toContain(css);
  });

  it('joinHtml joins with a separator, escaping strings', () => {
    expect(String(joinHtml([html`<a>`, '<b>'], '\n'))).toBe('<a>\n&lt;b&gt;');
    expect(String(joinHtml([]))).toBe('');
  });

  it('escapeHtml escapes the five characters', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});

describe('URL attributes', () => {
  it.each([
    'javascript:alert(1)',
    'JavaScript:alert(1)',
    ' javascript:alert(1)',
    '\u0001javascript:alert(1)',
    'java\tscript:alert(1)',
    'java\nscript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    'blob:https://x/y',
  ])('refuses %j in href, src and action', (bad) => {
    expect(isSafeUrl(bad)).toBe(false);
    expect(safeUrl(bad)).toBe(BLOCKED_URL);
    const outs = [
      html`<a class="x" href="${bad}">x</a>`,
      html`<iframe src="${bad}"></iframe>`,
      html`<form method="post" action="${bad}"></form>`,
      html`<button formaction = "${bad}">x</button>`,
      html`<A HREF="${bad}">x</A>`,
    ].map(String);
    for (const out of outs) {
      expect(out).toContain(BLOCKED_URL);
      expect(out.toLowerCase()).not.toMatch(/script:|data:|blob:/);
    }
    expect(String(html`<a href='${bad}'>x</a>`)).toBe(`<a href='${BLOCKED_URL}'>x</a>`);
    expect(String(html`<img alt="" src="${bad}">`)).toBe(`<img alt="" src="${BLOCKED_URL}">`);
  });

  it('checks the whole value when a scheme is assembled from several parts', () => {
    const base = '';
    expect(String(html`<a href="${base}${'javascript:alert(1)'}">x</a>`)).toBe(`<a href="${BLOCKED_URL}">x</a>`);
    expect(String(html`<a href="${'java'}script:${'alert(1)'}">x</a>`)).toBe(`<a href="${BLOCKED_URL}">x</a>`);
    expect(String(html`<a href="${'javascript'}${':x'}" class="y">x</a>`)).toBe(`<a href="${BLOCKED_URL}" class="y">x</a>`);
  });

  it.each(['/idp/console', '/login?next=%2Fconsole&x=1', 'https://bi.example/a?b=c', 'http://x', 'mailto:help@acme.example', '?q=1', '#top', 'users/1', ''])(
    'keeps %j (escaped as any attribute value)',
    (good) => {
      expect(isSafeUrl(good)).toBe(true);
      expect(String(html`<a href="${good}">x</a>`)).toBe(`<a href="${escapeHtml(good)}">x</a>`);
    },
  );

  it('a relative path that only contains a colon later is not a scheme', () => {
    expect(String(html`<a href="/console/tenants/${'a:b'}">x</a>`)).toBe('<a href="/console/tenants/a:b">x</a>');
    expect(String(html`<a href="${'/x'}/${'javascript:alert(1)'}">x</a>`)).toBe('<a href="/x/javascript:alert(1)">x</a>');
  });

  it('leaves non-URL attributes and text alone, and tracks several URL attributes in one template', () => {
    expect(String(html`<p title="${'javascript:x'}">${'javascript:x'}</p>`)).toBe('<p title="javascript:x">javascript:x</p>');
    expect(String(html`<a href="${'/a'}">1</a><a href="${'javascript:x'}">2</a><img src="${'https://c/l.png'}">`)).toBe(
      `<a href="/a">1</a><a href="${BLOCKED_URL}">2</a><img src="https://c/l.png">`,
    );
  });
});
