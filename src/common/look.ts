import type { Response } from 'express';
import { html, HtmlValue, SafeHtml, unsafeRaw } from './html';
import { isEmailAddress } from './identifiers';
import { absoluteHttpUrl, httpsUrl } from './redirects';
import { cspHash, LOOK_STYLE } from './look-style';
import { CspExtras, widenCsp } from './security-headers';

export { LOOK_STYLE, LOOK_STYLE_HASH } from './look-style';

/**
 * The shared look of the server-rendered pages: one page shell, a tenant's branding, and the
 * rules a branding value must meet (the admin API validates with these same functions, and
 * the renderer checks again, so a bad row can never become markup, CSS or a link).
 */

/** A tenant's look as the pages use it. */
export interface Brand {
  /** What the visitor signs in to: the tenant's display name (else its name). */
  name: string;
  logoUrl: string | null;
  accentColor: string | null;
  /** An email address or an https URL. */
  supportContact: string | null;
  /** The tenant's own app (its logout landing page), for a "Back to …" link on error pages. */
  appUrl?: string | null;
}

/** Strictly #rrggbb, lower case: the only form that reaches a stylesheet. */
export const ACCENT_COLOR = /^#[0-9a-f]{6}$/;

/** A link back to a tenant's app: a normalised http(s) URL, or null. */
export function webUrl(value: unknown): string | null {
  return absoluteHttpUrl(value)?.href ?? null;
}

/**
 * A support address is the one email rule, and plain besides: nothing a mailto: link could
 * read as markup, a header (`?cc=`) or a second address.
 */
const MAILTO_UNSAFE = /[\s<>"'()\\,;:?&%]/;

/** Where a support contact links to (mailto: or the https URL), or null when it is neither. */
export function supportHref(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 320) return null;
  if (isEmailAddress(value) && !MAILTO_UNSAFE.test(value)) return `mailto:${value}`;
  return httpsUrl(value);
}

// --- Contrast (WCAG 2.x, "relative luminance" and "contrast ratio") -----------------------

function channel(c: number): number {
  const s = c / 255;
  return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
}

export function relativeLuminance(hex: string): number {
  const n = parseInt(hex.slice(1), 16);
  return 0.2126 * channel((n >> 16) & 255) + 0.7152 * channel((n >> 8) & 255) + 0.0722 * channel(n & 255);
}

export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * Black or white, whichever reads better on `accent`. One of them always reaches at least
 * 4.58:1 (the worst case is a mid grey), above WCAG AA's 4.5:1 for normal text.
 */
export function textOn(accent: string): '#000000' | '#ffffff' {
  return contrastRatio(accent, '#000000') >= contrastRatio(accent, '#ffffff') ? '#000000' : '#ffffff';
}

const CARD_LIGHT = '#ffffff';
const CARD_DARK = '#222731';

/**
 * The tenant's colours as custom properties (see LOOK_STYLE). The accent becomes the link
 * colour only where it reads on the card (4.5:1), per colour scheme; else links keep ours.
 */
export function brandStyle(accent: string): string {
  if (!ACCENT_COLOR.test(accent)) return '';
  let css = `:root{--accent:${accent};--on-accent:${textOn(accent)}}`;
  if (contrastRatio(accent, CARD_LIGHT) >= 4.5) css += `@media not (prefers-color-scheme:dark){:root{--link:${accent}}}`;
  if (contrastRatio(accent, CARD_DARK) >= 4.5) css += `@media (prefers-color-scheme:dark){:root{--link:${accent}}}`;
  return css;
}

// --- Pages ---------------------------------------------------------------------------------

/** A rendered page and what its response's policy must add for it. */
export interface Page {
  html: string;
  csp: CspExtras;
}

export interface PageSpec {
  title: string;
  /** The content of <main>. */
  main: SafeHtml;
  brand?: Brand | null;
  /** Extra <head> markup, e.g. a meta refresh. */
  head?: SafeHtml;
  /** A class for <main> ('wide' for the landing page). */
  mainClass?: string;
  footer?: HtmlValue;
  /** Frames the page loads (BI logout URLs): their origins join the policy's frame-src. */
  frameOrigins?: string[];
  /**
   * A page's own CSS on top of LOOK_STYLE (e.g. the console's), from code, never from input:
   * added as one more <style>, allowed by its hash.
   */
  extraStyle?: string;
  /** Same-origin scripts the page loads (paths from code, never from input); the policy allows 'self'. */
  scripts?: string[];
}

/**
 * The brand's logo and name, shown above a page's heading ('' without a brand). A tenant
 * writes its name itself, so it is labelled as the organization's and kept apart from the
 * page's own words: whatever it says never reads as a message of this service.
 */
export function brandHeader(brand: Brand | null | undefined): SafeHtml | '' {
  if (!brand) return '';
  const logo = httpsUrl(brand.logoUrl);
  return html`<div class="brand">${logo && html`<img src="${logo}" alt="" referrerpolicy="no-referrer">`}<span><small>Your organization</small>${brand.name}</span></div>`;
}

/** "Need help? Contact your organization (“<name>”): <contact>" — '' when the brand has no (valid) contact. */
export function supportLine(brand: Brand | null | undefined): SafeHtml | '' {
  const href = brand ? supportHref(brand.supportContact) : null;
  if (!brand || !href) return '';
  const shown = href.startsWith('mailto:') ? href.slice('mailto:'.length) : new URL(href).host;
  return html`<p class="support">Need help? Contact your organization (“${brand.name}”): <a href="${href}">${shown}</a></p>`;
}

export function renderPage(spec: PageSpec): Page {
  const brand = spec.brand ?? null;
  const brandCss = brand?.accentColor ? brandStyle(brand.accentColor) : '';
  const logo = brand ? httpsUrl(brand.logoUrl) : null;
  // Unescaped on purpose (escaping would change the bytes the CSP hashes allow): LOOK_STYLE is
  // a constant of this code base; extraStyle comes from code, never from input; brandCss is
  // fixed text around a colour that matched ACCENT_COLOR (#rrggbb).
  const styles = {
    look: unsafeRaw(LOOK_STYLE),
    extra: spec.extraStyle ? unsafeRaw(spec.extraStyle) : null,
    brand: brandCss ? unsafeRaw(brandCss) : null,
  };
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${spec.title}</title>
${spec.head}<style>${styles.look}</style>
${styles.extra && html`<style>${styles.extra}</style>\n`}${styles.brand && html`<style>${styles.brand}</style>\n`}</head>
<body>
<main${spec.mainClass && html` class="${spec.mainClass}"`}>
${brandHeader(brand)}${spec.main}
</main>
${spec.footer && html`<footer>${spec.footer}</footer>\n`}${(spec.scripts ?? []).map((src) => html`<script src="${src}" defer></script>\n`)}</body>
</html>
`;
  return {
    html: String(page),
    csp: {
      styleHashes: [spec.extraStyle, brandCss].filter((css): css is string => !!css).map(cspHash),
      imgOrigins: logo ? [new URL(logo).origin] : [],
      frameOrigins: spec.frameOrigins ?? [],
      ...(spec.scripts?.length ? { ownScripts: true } : {}),
    },
  };
}

/**
 * Sends a page. Never cached: a shared cache must not keep a login form with its CSRF token
 * or a signed-in page. The security headers come from the one middleware
 * (security-headers.ts); this only widens this response's policy by what the page shows.
 */
export function sendPage(res: Response, status: number, page: Page, opts: { frameOrigins?: string[] } = {}): void {
  const frameOrigins = [...new Set([...(page.csp.frameOrigins ?? []), ...(opts.frameOrigins ?? [])])];
  widenCsp(res, { ...page.csp, frameOrigins });
  res.status(status).set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' }).type('html').send(page.html);
}
