import type { AuditEvent } from '../../audit/audit-event.entity';
import type { Tenant } from '../../tenants/tenant.entity';
import { FormState, input, select, str, when } from './forms';
import { html, SafeHtml } from '../../common/html';

export function auditPage(v: { base: string; operator: boolean; tenants: Tenant[]; form: FormState; events: AuditEvent[]; nextBefore: string | null }): SafeHtml {
  const f = v.form;
  const names = new Map(v.tenants.map((t) => [t.id, t.name]));
  const rows = v.events.map(
    (e) => html`<tr><td>${when(e.at)}</td><td><code>${e.type}</code></td><td>${e.actor}</td><td>${e.tenantId ? (names.get(e.tenantId) ?? e.tenantId) : ''}</td>
<td><code>${JSON.stringify(e.details).slice(0, 300)}</code></td></tr>`,
  );
  const keep = ['type', 'tenantId', 'from', 'to'].map((k) => (str(f.values[k]) ? `${k}=${encodeURIComponent(str(f.values[k]))}` : '')).filter(Boolean);
  const exportUrl = (format: string) => `${v.base}/console/audit/export?${[...keep, `format=${format}`].join('&')}`;
  const older = v.nextBefore ? `${v.base}/console/audit?${[...keep, `before=${v.nextBefore}`].join('&')}` : null;
  return html`<section class="card" aria-labelledby="filter-h"><h2 id="filter-h">Filter</h2>
<form method="get" action="${v.base}/console/audit">
<div class="row">
<div>${input({ form: 'audit', name: 'type', label: 'Event type', state: f, hint: 'e.g. tenant.created, login.failure, sso.denied', attrs: html`maxlength="64" spellcheck="false" autocapitalize="none"` })}</div>
${v.operator && html`<div>${select({ form: 'audit', name: 'tenantId', label: 'Tenant', state: f, options: [{ value: '', label: 'All tenants' }, ...v.tenants.map((t) => ({ value: t.id, label: t.name }))] })}</div>`}
<div>${input({ form: 'audit', name: 'from', label: 'From (UTC)', type: 'datetime-local', state: f })}</div>
<div>${input({ form: 'audit', name: 'to', label: 'To (UTC)', type: 'datetime-local', state: f })}</div>
</div>
<button type="submit" class="secondary">Show events</button>
</form></section>
<section class="card" aria-labelledby="ev-h"><h2 id="ev-h">Events, newest first</h2>
<div class="table-wrap"><table><thead><tr><th>When</th><th>Type</th><th>Actor</th><th>Tenant</th><th>Details</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="5">No events match.</td></tr>`}</tbody></table></div>
<div class="pager">${older && html`<a href="${older}">Older events</a>`}</div>
</section>
<section class="card" aria-labelledby="dl-h"><h2 id="dl-h">Download and streams</h2>
<p>Every event these filters select (not only this page): <a href="${exportUrl('csv')}" download>CSV</a> · <a href="${exportUrl('ndjson')}" download>NDJSON</a></p>
<p><a href="${v.base}/console/audit-streams">Audit streams</a>: where events are sent as they happen (webhooks), their health and failures.</p>
</section>`;
}
