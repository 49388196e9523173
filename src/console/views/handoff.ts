import { html, SafeHtml } from '../../common/html';
import type { HandoffConfigView } from '../../inbound/hs256/handoff-config.service';
import type { Tenant } from '../../tenants/tenant.entity';
import { actionButton, checkbox, formOpen, FormState, when } from './forms';

export interface HandoffView {
  base: string;
  csrf: string;
  tenant: Tenant;
  config: HandoffConfigView;
  form: FormState;
  /** Just created: the secret itself, on this answer only (it is stored sealed, never shown again). */
  created: { id: string; secret: string } | null;
}

export function handoffPage(v: HandoffView): SafeHtml {
  const path = `${v.base}/console/tenants/${v.tenant.id}/handoff`;
  const rows = v.config.secrets.map(
    (s, i) => html`<tr><td><code title="${s.id}">${s.id.slice(0, 8)}…</code></td><td>${when(s.createdAt)}</td><td>${i === 0 ? 'newest' : 'previous (rotation)'}</td>
<td>${actionButton(`${path}/secrets/${s.id}/revoke`, v.csrf, 'Revoke…', 'secondary small')}</td></tr>`,
  );
  return html`<p><a href="${v.base}/console/tenants/${v.tenant.id}">Back to ${v.tenant.name}</a></p>
${v.created && html`<section class="card" aria-labelledby="secret-h"><h2 id="secret-h">Hand-off secret created</h2>
<p>Copy it now into the host application: it is shown only this once (it is stored sealed). The host signs its HS256 assertions with it; the previous secret stays valid until you revoke it.</p>
<pre data-copy data-copy-label="Hand-off secret">${v.created.secret}</pre></section>`}
<section class="card" aria-labelledby="hs-h">
<h2 id="hs-h">Host hand-off settings</h2>
<p class="muted">The host application signs people in here with an HS256 assertion (<code>/login/handoff</code> or <code>/sso/&lt;target&gt;?assertion=</code>), signed with one of this tenant's secrets.</p>
${formOpen(path, v.csrf, v.form)}
${checkbox({ form: 'handoff', name: 'jitProvisioning', label: 'Create unknown users on their first hand-off (just-in-time)', state: v.form, checked: v.config.jitProvisioning })}
${checkbox({ form: 'handoff', name: 'syncGroups', label: "Replace a user's groups with the assertion's groups on each hand-off", state: v.form, checked: v.config.syncGroups })}
<button type="submit">Save hand-off settings</button>
</form>
</section>
<section class="card" aria-labelledby="secrets-h">
<h2 id="secrets-h">Secrets</h2>
<p class="muted">At most two: during a rotation the new one and the one it replaces. A new secret drops any older than the previous.</p>
<div class="table-wrap"><table><thead><tr><th>Id</th><th>Created</th><th>Role</th><th>Actions</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="4">No secrets: hand-off is refused for this tenant.</td></tr>`}</tbody></table></div>
${formOpen(`${path}/secrets`, v.csrf)}
<button type="submit">Create a new secret</button>
</form>
</section>`;
}
