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

/**
 * Each destination: where, what, its health and newest failures, a replay form, its settings
 * (URL, event types, on/off) and a secret rotation. `rotated`: the new secret, shown this once.
 */
export function auditStreamsPage(v: {
  base: string;
  csrf: string;
  streams: StreamView[];
  forms: Map<string, FormState>;
  rotated?: { id: string; secret: string; previousSecretUntil: Date | null };
}): SafeHtml {
  const cards = v.streams.map(({ stream: s, health: h, failures, tenantName }) => {
    const form = v.forms.get(s.id) ?? { values: {}, errors: {} };
    const edit = v.forms.get(`${s.id}:edit`) ?? { values: { name: s.name, url: s.url, eventTypes: s.eventTypes.join(', ') }, errors: {} };
    const rotate = v.forms.get(`${s.id}:rotate`) ?? { values: { graceHours: '24' }, errors: {} };
    const rotated = v.rotated?.id === s.id ? v.rotated : null;
    const grace = s.previousSecretUntil && s.previousSecretUntil > new Date() ? s.previousSecretUntil : null;
    const state = h.failed ? 'has failures' : h.pending > 100 ? 'behind' : s.lastFailureAt && (!s.lastSuccessAt || s.lastFailureAt > s.lastSuccessAt) ? 'failing' : 'healthy';
    return html`<section class="card" aria-labelledby="s-${s.id}"><h2 id="s-${s.id}">${s.name}</h2>
${rotated && html`<div class="notice" role="status"><p><strong>New signing secret</strong> (shown this once; copy it to the receiver):</p><p><code>${rotated.secret}</code></p><p>${rotated.previousSecretUntil ? html`The previous secret signs too until ${when(rotated.previousSecretUntil)}.` : 'The previous secret no longer signs.'}</p></div>`}
<p><strong>Status: ${s.enabled ? state : 'disabled'}</strong></p>
<dl class="facts">
<dt>URL</dt><dd><code>${s.url}</code></dd>
<dt>Events of</dt><dd>${tenantName ?? 'every tenant (global)'}</dd>
<dt>Types</dt><dd>${s.eventTypes.length ? s.eventTypes.join(', ') : 'all'}</dd>
<dt>Secret</dt><dd>${grace ? html`rotated; the previous one signs too until ${when(grace)}` : 'one'}</dd>
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
</form>
<details${edit.errors && Object.keys(edit.errors).length ? html` open` : ''}><summary>Settings</summary>
${formOpen(`${v.base}/console/audit-streams/${s.id}/edit`, v.csrf, edit)}
${input({ form: `e-${s.id}`, name: 'name', label: 'Name', state: edit })}
${input({ form: `e-${s.id}`, name: 'url', label: 'URL', state: edit })}
${input({ form: `e-${s.id}`, name: 'eventTypes', label: 'Event types', state: edit, hint: 'Comma-separated, such as login.failure, sso.denied; empty: all' })}
<button type="submit">Save</button>
</form>
${formOpen(`${v.base}/console/audit-streams/${s.id}/enabled`, v.csrf)}
<input type="hidden" name="enabled" value="${s.enabled ? 'false' : 'true'}">
<button type="submit" class="secondary">${s.enabled ? 'Disable this stream' : 'Enable this stream'}</button>
</form>
${formOpen(`${v.base}/console/audit-streams/${s.id}/rotate-secret`, v.csrf, rotate)}
${input({ form: `k-${s.id}`, name: 'graceHours', label: 'Hours the current secret keeps signing beside the new one', type: 'number', state: rotate, hint: '0 to 168; both signatures are sent meanwhile' })}
<button type="submit" class="secondary">Rotate the signing secret</button>
</form>
</details></section>`;
  });
  return html`${cards.length ? cards : html`<section class="card"><p>No audit streams yet. Add one with the admin API (<code>POST /api/v1/audit-streams</code>); its signing secret is shown once, then.</p></section>`}`;
}
