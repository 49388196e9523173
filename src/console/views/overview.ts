import { html, SafeHtml } from '../../common/html';

export interface ChecklistStep {
  done: boolean;
  text: string;
  href: string;
}

export interface OverviewView {
  counts: { tenants: number; users: number; targets: number | null };
  /** Getting started (operators, until every step is done). */
  checklist?: ChecklistStep[] | null;
  /** Pre-rendered charts (SVG + legend), added by the overview's activity section. */
  charts?: SafeHtml;
}

export function overviewPage(v: OverviewView): SafeHtml {
  const stat = (n: number | null, label: string) => n !== null && html`<div class="stat"><b>${n}</b>${label}</div>`;
  const steps = v.checklist;
  const checklist =
    steps &&
    html`<section class="card" aria-labelledby="start-h"><h2 id="start-h">Getting started</h2>
<p class="muted">${steps.filter((s) => s.done).length} of ${steps.length} done. Each step is ticked when what it makes exists.</p>
<ol class="checklist">${steps.map((s) => html`<li class="${s.done ? 'done' : 'todo'}"><span aria-hidden="true">${s.done ? '✓' : '○'}</span> <a href="${s.href}">${s.text}</a>${s.done && html` <span class="visually-hidden">(done)</span>`}</li>`)}</ol>
</section>`;
  return html`${checklist}<div class="stats">${stat(v.counts.tenants, 'tenants')}${stat(v.counts.users, 'users')}${stat(v.counts.targets, 'BI targets')}</div>
${v.charts}`;
}
