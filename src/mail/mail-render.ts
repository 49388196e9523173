import { html } from '../common/html';
import { ACCENT_COLOR, Brand, supportHref, textOn } from '../common/look';
import { httpsUrl } from '../common/redirects';

/** What a message says, before it is written as plain text and as HTML. */
export interface MailContent {
  subject: string;
  /** The tenant the message is about (its look and name), or null for our own. */
  brand: Brand | null;
  heading: string;
  paragraphs: string[];
  /** The one thing to do: a button in HTML, the bare URL on its own line in text. */
  action?: { label: string; url: string };
  /** Small print under the action (why they got this, what to do if it was not them). */
  note?: string;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const INK = '#1d2330';
const DEFAULT_ACCENT = '#2456c7';

/**
 * Plain text first (what every client can show, and what spam filters like to see beside the
 * HTML: RFC 2046 multipart/alternative, simplest part first), then a simple HTML part: one
 * column, inline styles (mail clients drop <style> and external CSS), no images but the
 * tenant's https logo. Every value goes through the html template, which escapes it.
 */
export function renderMail(c: MailContent): RenderedMail {
  const brand = c.brand;
  const from = brand ? `“${brand.name}”` : null;
  const support = brand ? supportHref(brand.supportContact) : null;
  const supportShown = support?.startsWith('mailto:') ? support.slice('mailto:'.length) : support;
  const text = [
    c.heading,
    '',
    ...c.paragraphs.flatMap((p) => [p, '']),
    ...(c.action ? [`${c.action.label}:`, c.action.url, ''] : []),
    ...(c.note ? [c.note, ''] : []),
    ...(supportShown ? [`Need help? Contact your organization (${from}): ${supportShown}`, ''] : []),
    '-- ',
    from ? `Sent by embed-idp for your organization ${from}.` : 'Sent by embed-idp.',
  ].join('\n');

  const accent = brand?.accentColor && ACCENT_COLOR.test(brand.accentColor) ? brand.accentColor : DEFAULT_ACCENT;
  const onAccent = textOn(accent);
  const logo = brand ? httpsUrl(brand.logoUrl) : null;
  const body = html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${c.subject}</title></head>
<body style="margin:0;padding:24px 12px;background:#f3f4f7;color:${INK};font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border-top:4px solid ${accent};border-radius:6px;padding:24px">
${brand && html`<p style="margin:0 0 16px;color:#4a5263;font-size:14px">${logo && html`<img src="${logo}" alt="" height="32" style="vertical-align:middle;margin-right:8px">`}Your organization: <strong style="color:${INK}">${brand.name}</strong></p>`}
<h1 style="font-size:22px;margin:0 0 16px">${c.heading}</h1>
${c.paragraphs.map((p) => html`<p style="margin:0 0 16px">${p}</p>`)}
${c.action && html`<p style="margin:24px 0"><a href="${c.action.url}" style="display:inline-block;background:${accent};color:${onAccent};text-decoration:none;font-weight:600;padding:12px 20px;border-radius:6px">${c.action.label}</a></p>
<p style="margin:0 0 16px;font-size:14px;color:#4a5263">Or paste this address into your browser:<br><span style="word-break:break-all">${c.action.url}</span></p>`}
${c.note && html`<p style="margin:0 0 16px;font-size:14px;color:#4a5263">${c.note}</p>`}
${support && html`<p style="margin:0 0 16px;font-size:14px;color:#4a5263">Need help? Contact your organization (${from}): <a href="${support}">${supportShown}</a></p>`}
</div>
<p style="max-width:560px;margin:12px auto 0;font-size:12px;color:#4a5263;text-align:center">${from ? html`Sent by embed-idp for your organization ${from}.` : 'Sent by embed-idp.'}</p>
</body>
</html>
`;
  return { subject: c.subject, text, html: body.toString() };
}
