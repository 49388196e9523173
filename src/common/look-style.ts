import { createHash } from 'node:crypto';

/**
 * The one stylesheet of every server-rendered page (login, signed-out, error, landing; the
 * console adds its own on top). Inline, allowed by its hash, so the pages' policy stays
 * `default-src 'none'` with no script (security-headers.ts). Colours come from custom
 * properties a tenant's branding may set (look.ts, `brandStyle`):
 *   --accent / --on-accent  the button and the card's top edge, and the text on the button
 *   --link                  link colour (set only when readable on the card)
 */
export const LOOK_STYLE = `
:root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;--accent:#2456c7;--on-accent:#ffffff;--link:#2456c7;--card:#fff;--muted:#4a5365}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;justify-content:center;background:#f4f5f7;color:#1d2330}
main{box-sizing:border-box;width:calc(100% - 2rem);max-width:26rem;margin:2rem 1rem 1rem;padding:2rem;background:var(--card);border-radius:.5rem;border-top:4px solid var(--accent);box-shadow:0 1px 3px #0002}
main.wide{max-width:36rem}
h1{font-size:1.4rem;margin:0 0 1rem}
p{line-height:1.45}
a{color:var(--link)}
.brand{display:flex;align-items:center;gap:.75rem;margin:0 0 1.25rem;min-height:2.5rem}
.brand img{max-height:2.5rem;max-width:10rem;object-fit:contain}
.brand span{font-weight:600;font-size:1.05rem;overflow-wrap:anywhere}
.brand small{display:block;font-weight:400;font-size:.7rem;letter-spacing:.05em;text-transform:uppercase;color:var(--muted)}
label{display:block;font-weight:600;margin:1rem 0 .3rem}
input[type=text],input[type=email],input[type=password]{box-sizing:border-box;width:100%;padding:.55rem .6rem;font:inherit;border:1px solid #9aa3b2;border-radius:.3rem}
input[aria-invalid=true]{border-color:#b3261e}
button,.button{display:block;box-sizing:border-box;margin-top:1.4rem;width:100%;padding:.65rem;font:inherit;font-weight:600;text-align:center;text-decoration:none;color:var(--on-accent);background:var(--accent);border:0;border-radius:.3rem;cursor:pointer}
.actions{margin:1.4rem 0 0;padding:0;list-style:none}
.actions li+li{margin-top:.6rem;text-align:center}
.actions .button{margin-top:0}
button:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid #8fb0ff;outline-offset:1px}
.alert{padding:.7rem .8rem;border-radius:.3rem;background:#fdecea;color:#7a1712;border:1px solid #f3b8b3}
.field-error{margin:.3rem 0 0;color:#b3261e;font-size:.9rem}
.hint{margin:0 0 .3rem;color:var(--muted);font-size:.85rem}
.notice{padding:.7rem .8rem;border-radius:.3rem;background:#e7f4ea;color:#14532d;border:1px solid #a7d7b4}
h2{font-size:1.1rem;margin:1.8rem 0 .4rem}
.muted{color:var(--muted);font-size:.9rem}
.support{margin:1.4rem 0 0;font-size:.9rem;color:var(--muted)}
.ref{margin:1.2rem 0 0;color:var(--muted);font-size:.75rem}
.ref code{font-size:inherit;user-select:all}
footer{margin:0 0 2rem;color:var(--muted);font-size:.8rem}
.bi-logout{position:absolute;width:0;height:0;border:0;visibility:hidden}
@media (prefers-color-scheme:dark){:root{--link:#8fb0ff;--card:#222731;--muted:#b3bac6}body{background:#16191f;color:#e6e8ec}main{box-shadow:none}input[type=text],input[type=email],input[type=password]{background:#16191f;color:inherit}}
`;

/** The CSP source allowing LOOK_STYLE (CSP Level 2 hash-source). */
export const LOOK_STYLE_HASH = cspHash(LOOK_STYLE);

export function cspHash(css: string): string {
  return `'sha256-${createHash('sha256').update(css, 'utf8').digest('base64')}'`;
}
