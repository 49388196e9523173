import { html, SafeHtml } from '../common/html';

/**
 * Small SVG charts drawn on the server (no script, no CDN). Colours are presentation
 * attributes, not style attributes, so the console's CSP (style-src by hash) allows them.
 * Each chart carries a <title>/<desc> and a table of the same numbers for screen readers.
 */
const PALETTE = ['#2456c7', '#c2410c', '#15803d', '#7c3aed', '#b91c1c', '#0e7490', '#a16207', '#be185d'];
const W = 720;
const H = 220;
const PAD = { left: 36, right: 8, top: 10, bottom: 26 };

export interface Series {
  name: string;
  values: number[];
}

function swatch(color: string): SafeHtml {
  return html`<svg width="12" height="12" aria-hidden="true" focusable="false"><rect width="12" height="12" rx="2" fill="${color}"/></svg>`;
}

function niceMax(n: number): number {
  if (n <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(n));
  return Math.ceil(n / p) * p;
}

/**
 * Two drawings of the same lines: a wide one, and a narrow one for phones (CSS shows one) with
 * half the width in user units, so its 12-unit text stays about 12 px at 390 px wide instead of
 * shrinking to half, and a tick every 6 hours instead of every 4.
 */
const NARROW_W = 340;

function lineSvg(id: string, cls: string, width: number, tickEvery: number, hours: Date[], series: Series[], title: string, desc: string): SafeHtml {
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const iw = width - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (hours.length <= 1 ? 0 : (i * iw) / (hours.length - 1));
  const y = (v: number) => PAD.top + ih - (v / max) * ih;
  const grid = [0, 0.5, 1]
    .map((f) => html`<line x1="${PAD.left}" x2="${width - PAD.right}" y1="${y(max * f)}" y2="${y(max * f)}" stroke="#9aa3b2" stroke-width="0.5"/><text x="${PAD.left - 4}" y="${y(max * f) + 4}" text-anchor="end" font-size="12" fill="currentColor">${max * f}</text>`);
  const ticks = hours
    .map((d, i) => (hours.length - 1 - i) % tickEvery === 0 && html`<text x="${x(i)}" y="${H - 6}" text-anchor="${i === hours.length - 1 ? 'end' : 'middle'}" font-size="12" fill="currentColor">${String(d.getUTCHours()).padStart(2, '0')}:00</text>`);
  // Series often coincide (a sign-in and its handshake in one hour): later ones are dashed and
  // every non-zero point gets a marker, so no series hides behind another.
  const lines = series
    .map((s, n) => {
      const color = PALETTE[n % PALETTE.length];
      const dash = n !== 0 && html` stroke-dasharray="${4 + n * 2} 3"`;
      const marks = s.values.map((v, i) => v > 0 && html`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="${4 - Math.min(n, 2)}" fill="${color}"/>`);
      return html`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>${marks}`;
    });
  return html`<svg class="${cls}" viewBox="0 0 ${width} ${H}" role="img" aria-labelledby="${id}-${cls}-st ${id}-${cls}-d"><title id="${id}-${cls}-st">${title}</title><desc id="${id}-${cls}-d">${desc}</desc>${grid}${ticks}${lines}</svg>`;
}

/** One line per series over hourly buckets (labels: the hour, UTC). */
export function lineChart(id: string, title: string, hours: Date[], series: Series[]): SafeHtml {
  const total = (s: Series) => s.values.reduce((a, b) => a + b, 0);
  const desc = `${series.length ? series.map((s) => `${s.name}: ${total(s)}`).join(', ') : 'no activity'} in the last 24 hours`;
  const legend = series.map((s, n) => html`<li>${swatch(PALETTE[n % PALETTE.length])} ${s.name} (${total(s)})</li>`);
  const table = html`<table><thead><tr><th>Hour (UTC)</th>${series.map((s) => html`<th>${s.name}</th>`)}</tr></thead><tbody>${hours.map(
    (d, i) => html`<tr><td>${d.toISOString().slice(0, 13).replace('T', ' ')}:00</td>${series.map((s) => html`<td>${s.values[i]}</td>`)}</tr>`,
  )}</tbody></table>`;
  const drawings = html`${lineSvg(id, 'wide', W, 4, hours, series, title, desc)}${lineSvg(id, 'narrow', NARROW_W, 6, hours, series, title, desc)}`;
  return figure(id, title, drawings, legend, table);
}

/**
 * Horizontal bars (e.g. refusals by reason) as an HTML list, not a drawing: the labels are text
 * that wraps and keeps its size on a phone, and each can be a link (to the events behind it).
 */
export function barChart(id: string, title: string, bars: { label: string; value: number; href?: string }[]): SafeHtml {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const items = bars.map(
    (b) => html`<li>${b.href ? html`<a href="${b.href}">${b.label}</a>` : html`<span>${b.label}</span>`}<progress max="${max}" value="${b.value}" aria-hidden="true">${b.value}</progress><b>${b.value}</b></li>`,
  );
  const body = bars.length ? html`<ul class="bars">${items}</ul>` : html`<p class="muted">No refusals in the last 24 hours.</p>`;
  return html`<figure class="chart" aria-labelledby="${id}-t">
<figcaption id="${id}-t"><strong>${title}</strong></figcaption>
${body}
</figure>`;
}

function figure(id: string, title: string, drawings: SafeHtml, legend: SafeHtml[], table: SafeHtml): SafeHtml {
  return html`<figure class="chart" aria-labelledby="${id}-t">
<figcaption id="${id}-t"><strong>${title}</strong></figcaption>
${drawings}
${legend.length > 0 && html`<ul class="legend">${legend}</ul>`}
<details><summary>As a table</summary><div class="table-wrap">${table}</div></details>
</figure>`;
}
