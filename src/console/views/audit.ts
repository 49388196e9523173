import type { AuditEvent } from '../../audit/audit-event.entity';
import { AUDIT_EVENT_TYPES, REFUSAL_REASONS } from '../../audit/audit-vocabulary';
import type { Tenant } from '../../tenants/tenant.entity';
import { actorName, AuditNames, summarize } from '../audit-summary';
import { FormState, input, select, str } from './forms';
import { html, SafeHtml } from '../../common/html';

/** The filters the page, its pager and its download links carry. */
export const AUDIT_FILTERS = ['type', 'reason', 'tenantId', 'from', 'to'] as const;

/** Compact and on one line (UTC stated: on a phone the column header is hidden), the full instant in datetime and the tooltip. */
function stamp(d: Date): SafeHtml {
  const iso = d.toISOString();
  return html`<time datetime="${iso}" title="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC</time>`;
}

/** A choice of the known values, keeping one from the URL that is not among them (still filtered on). */
function choices(known: Readonly<Record<string, string>>, current: string, any: string): { value: string; label: string }[] {
  const keys = Object.keys(known).sort();
  if (current && !keys.includes(current)) keys.unshift(current);
  return [{ value: '', label: any }, ...keys.map((k) => ({ value: k, label: known[k] ? `${known[k]} (${k})` : k }))];
}

export function auditPage(v: { base: string; operator: boolean; tenants: Tenant[]; form: FormState; events: AuditEvent[]; names: AuditNames; nextBefore: string | null }): SafeHtml {
  const f = v.form;
  const tenantNames = new Map(v.tenants.map((t) => [t.id, t.name]));
  const rows = v.events.map((e) => {
    const extra = { actor: `${e.actor}${actorName(e.actor, v.names) !== e.actor ? ` (${actorName(e.actor, v.names)})` : ''}`, ip: e.ip, requestId: e.requestId, id: e.id };
    return html`<tr><td class="nowrap">${stamp(e.at)}</td>
<td><details><summary>${summarize(e, v.names)}</summary>
<p class="muted"><code>${e.type}</code> · actor <code>${extra.actor}</code>${e.ip && html` · IP <code>${e.ip}</code>`}${e.requestId && html` · request <code>${e.requestId}</code>`} · event ${e.id}</p>
<pre>${JSON.stringify(e.details, null, 2)}</pre></details></td>
${v.operator && html`<td>${e.tenantId ? (tenantNames.get(e.tenantId) ?? e.tenantId) : ''}</td>`}</tr>`;
  });
  const keep = AUDIT_FILTERS.map((k) => (str(f.values[k]) ? `${k}=${encodeURIComponent(str(f.values[k]))}` : '')).filter(Boolean);
  const exportUrl = (format: string) => `${v.base}/console/audit/export?${[...keep, `format=${format}`].join('&')}`;
  const older = v.nextBefore ? `${v.base}/console/audit?${[...keep, `before=${v.nextBefore}`].join('&')}` : null;
  const newest = str(f.values.before) ? `${v.base}/console/audit${keep.length ? `?${keep.join('&')}` : ''}` : null;
  return html`<section class="card" aria-labelledby="filter-h"><h2 id="filter-h">Filter</h2>
<form method="get" action="${v.base}/console/audit">
<div class="row">
<div>${select({ form: 'audit', name: 'type', label: 'Event type', state: f, options: choices(AUDIT_EVENT_TYPES, str(f.values.type), 'All types') })}</div>
<div>${select({ form: 'audit', name: 'reason', label: 'Refusal reason', state: f, options: choices(REFUSAL_REASONS, str(f.values.reason), 'Any reason') })}</div>
${v.operator && html`<div>${select({ form: 'audit', name: 'tenantId', label: 'Tenant', state: f, options: [{ value: '', label: 'All tenants' }, ...v.tenants.map((t) => ({ value: t.id, label: t.name }))] })}</div>`}
<div>${input({ form: 'audit', name: 'from', label: 'From (UTC)', type: 'datetime-local', state: f })}</div>
<div>${input({ form: 'audit', name: 'to', label: 'To (UTC)', type: 'datetime-local', state: f })}</div>
</div>
<div class="actions"><button type="submit" class="secondary">Show events</button>
<a class="button secondary" id="export-csv" href="${exportUrl('csv')}" download>Download CSV</a>
<a class="button secondary" id="export-ndjson" href="${exportUrl('ndjson')}" download>Download NDJSON</a></div>
<p class="hint">The downloads hold every event the filters shown select (not only this page).</p>
</form></section>
<section class="card" aria-labelledby="ev-h"><h2 id="ev-h">Events, newest first</h2>
<div class="table-wrap"><table class="stack"><thead><tr><th>When</th><th>Event (open for details)</th>${v.operator && html`<th>Tenant</th>`}</tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="3">No events match.</td></tr>`}</tbody></table></div>
<div class="pager">${newest && html`<a href="${newest}">Newest events</a>`}${older && html`<a href="${older}">Older events</a>`}</div>
</section>
<section class="card" aria-labelledby="dl-h"><h2 id="dl-h">Streams</h2>
<p><a href="${v.base}/console/audit-streams">Audit streams</a>: where events are sent as they happen (webhooks), their health and failures.</p>
</section>`;
}
