import { html, SafeHtml } from '../../common/html';
import type { ApiKey } from '../../auth/api-key.entity';
import type { Tenant } from '../../tenants/tenant.entity';
import { actionButton, formOpen, FormState, input, when } from './forms';

export interface ApiKeysView {
  base: string;
  csrf: string;
  /** null: the operators' global keys. */
  tenant: Tenant | null;
  form: FormState;
  keys: ApiKey[];
  /** Just created: the key itself, shown on this answer only (only its hash is stored). */
  created: { name: string; key: string } | null;
}

export function apiKeysPage(v: ApiKeysView): SafeHtml {
  const path = v.tenant ? `${v.base}/console/tenants/${v.tenant.id}/api-keys` : `${v.base}/console/api-keys`;
  const rows = v.keys.map(
    (k) => html`<tr><td>${k.name}</td><td><code>${k.prefix}…</code></td><td>${when(k.createdAt)}</td><td>${k.lastUsedAt ? when(k.lastUsedAt) : 'never'}</td>
<td>${actionButton(`${path}/${k.id}/revoke`, v.csrf, `Revoke ${k.name}…`, 'secondary small')}</td></tr>`,
  );
  return html`${v.tenant && html`<p><a href="${v.base}/console/tenants/${v.tenant.id}">Back to ${v.tenant.name}</a></p>`}
${v.created && html`<section class="card" aria-labelledby="key-h"><h2 id="key-h">API key ${v.created.name} created</h2>
<p>Copy it now: it is shown only this once (only a hash is kept). Send it as <code>Authorization: Bearer &lt;key&gt;</code> to the admin API.</p>
<pre data-copy data-copy-label="API key">${v.created.key}</pre></section>`}
<section class="card" aria-labelledby="keys-h">
<h2 id="keys-h">${v.tenant ? 'API keys' : 'Global API keys'}</h2>
<p class="muted">${v.tenant ? html`Each key manages this tenant only through the admin API (<code>/api/v1</code>).` : html`Operators' keys: each manages every tenant and target through the admin API (<code>/api/v1</code>). Keep them in a secret store; a tenant's own keys are on its page.`}</p>
<div class="table-wrap"><table><thead><tr><th>Name</th><th>Starts with</th><th>Created</th><th>Last used</th><th>Actions</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="5">No API keys.</td></tr>`}</tbody></table></div>
</section>
<section class="card" aria-labelledby="newkey-h">
<h2 id="newkey-h">Create an API key</h2>
${formOpen(path, v.csrf, v.form)}
${input({ form: 'apikey', name: 'name', label: 'Name', state: v.form, hint: 'What uses it, e.g. CI provisioning.', attrs: html`required maxlength="100"` })}
<button type="submit">Create API key</button>
</form>
</section>`;
}
