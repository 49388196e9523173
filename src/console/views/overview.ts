import { h } from './layout';

export interface OverviewView {
  counts: { tenants: number; users: number; targets: number | null };
  /** Pre-rendered charts (SVG + legend), added by the overview's activity section. */
  charts?: string;
}

export function overviewPage(v: OverviewView): string {
  const stat = (n: number | null, label: string) => (n === null ? '' : `<div class="stat"><b>${h(String(n))}</b>${h(label)}</div>`);
  return `<div class="stats">${stat(v.counts.tenants, 'tenants')}${stat(v.counts.users, 'users')}${stat(v.counts.targets, 'BI targets')}</div>
${v.charts ?? ''}`;
}
