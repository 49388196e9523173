import type { AuditStream, AuditStreamDelivery } from '../../streams/audit-stream.entity';
import type { StreamHealth } from '../../streams/audit-streams.service';
import { html, SafeHtml } from '../../common/html';
import { FormState, formOpen, input, when } from './forms';

export interface StreamView {
  stream: AuditStream;
  health: StreamHealth;
  failures: AuditStreamDelivery[];
  tenantName: string | null;
}

/** Each destination: where, what, its health and newest failures, and a replay form. */
export function auditStreamsPage(v: { base: string; csrf: string; streams: StreamView[]; forms: Map<string, FormState> }): SafeHtml {
  const cards = v.streams.map(({ stream: s, health: h, failures, tenantName }) => {
    const form = v.forms.get(s.id) ?? { values: {}, errors: {} };
    const state = h.failed ? 'has failures' : h.pending > 100 ? 'behind' : s.lastFailureAt && (!s.lastSuccessAt || s.lastFailureAt > s.lastSuccessAt) ? 'failing' : 'healthy';
    return html`<section class="card" aria-labelledby="s-${s.id}"><h2 id="s-${s.id}">${s.name}</h2>
<p><strong>Status: ${state}</strong></p>
<dl class="facts">
<dt>URL</dt><dd><code>${s.url}</code></dd>
<dt>Events of</dt><dd>${tenantName ?? 'every tenant (global)'}</dd>
<dt>Types</dt><dd>${s.eventTypes.length ? s.eventTypes.join(', ') : 'all'}</dd>
<dt>Delivered</dt><dd>${h.delivered}</dd>
<dt>Waiting</dt><dd>${h.pending}${h.oldestPendingAt && html` (oldest from ${when(h.oldestPendingAt)})`}</dd>
<dt>Failed</dt><dd>${h.failed}</dd>
<dt>Last success</dt><dd>${s.lastSuccessAt ? when(s.lastSuccessAt) : 'never'}</dd>
<dt>Last failure</dt><dd>${s.lastFailureAt ? html`${when(s.lastFailureAt)}: ${s.lastError ?? ''}` : 'never'}</dd>
</dl>
${failures.length ? html`<div class="table-wrap"><table><caption>Newest failed deliveries</caption><thead><tr><th>Event</th><th>Written</th><th>Attempts</th><th>Last error</th></tr></thead>
<tbody>${failures.map((d) => html`<tr><td><code>msg_${d.eventId}</code></td><td>${when(d.eventAt)}</td><td>${d.attempts}</td><td>${d.lastError ?? ''}</td></tr>`)}</tbody></table></div>` : ''}
${formOpen(`${v.base}/console/audit-streams/${s.id}/replay`, v.csrf, form)}
<div class="row">
<div>${input({ form: `r-${s.id}`, name: 'from', label: 'Replay from (UTC)', type: 'datetime-local', state: form })}</div>
<div>${input({ form: `r-${s.id}`, name: 'to', label: 'to (UTC)', type: 'datetime-local', state: form })}</div>
</div>
<button type="submit" class="secondary">Send this range again</button>
</form></section>`;
  });
  return html`${cards.length ? cards : html`<section class="card"><p>No audit streams yet. Add one with the admin API (<code>POST /api/v1/audit-streams</code>); its signing secret is shown once, then.</p></section>`}`;
}
