import { html, SafeHtml } from '../../common/html';

export interface OverviewView {
  counts: { tenants: number; users: number; targets: number | null };
  /** Pre-rendered charts (SVG + legend), added by the overview's activity section. */
  charts?: SafeHtml;
}

export function overviewPage(v: OverviewView): SafeHtml {
  const stat = (n: number | null, label: string) => n !== null && html`<div class="stat"><b>${n}</b>${label}</div>`;
  return html`<div class="stats">${stat(v.counts.tenants, 'tenants')}${stat(v.counts.users, 'users')}${stat(v.counts.targets, 'BI targets')}</div>
${v.charts}`;
}
