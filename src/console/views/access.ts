import type { AccessView } from '../../catalog/dto/access-input';
import type { TargetView } from '../../catalog/dto/target-input';
import type { Tenant } from '../../tenants/tenant.entity';
import type { ProductSchema } from '../product-schemas';
import { renderSchemaFields } from '../schema-form';
import { actionButton, FormState, formOpen, input, pairRows as rows } from './forms';
import { html, SafeHtml } from '../../common/html';

export interface AccessPageView {
  base: string;
  csrf: string;
  operator: boolean;
  tenant: Tenant;
  target: TargetView;
  product: ProductSchema;
  existing: AccessView | null;
  groupNames: string[];
  form: FormState;
}

export function accessPage(v: AccessPageView): SafeHtml {
  const path = `${v.base}/console/tenants/${v.tenant.id}/access/${v.target.id}`;
  const err = (name: string) => v.form.errors[name] && html`<p class="field-error" id="${name}-error">${v.form.errors[name]}</p>`;
  const tryLink = v.existing && html`<p><a href="${path}/try">Try it: the claims a user would get</a></p>`;
  if (!v.operator) {
    const e = v.existing;
    return html`<section class="card"><h2>${v.target.name || v.target.slug}</h2>
${e ? html`<pre>${JSON.stringify({ groupMappings: e.groupMappings, attributes: e.attributes, settings: e.settings }, null, 2)}</pre>` : html`<p>Not granted.</p>`}
<p class="muted">Only a platform operator changes access grants.</p>${tryLink}</section>`;
  }
  return html`<p class="muted"><a href="${v.base}/console/tenants/${v.tenant.id}">${v.tenant.name}</a> · ${v.product.label} target <code>${v.target.slug}</code> · ${v.existing ? 'granted' : 'not granted yet'}</p>
<section class="card" aria-labelledby="grant-h"><h2 id="grant-h">Access grant</h2>
${formOpen(path, v.csrf, v.form)}
<datalist id="local-groups">${v.groupNames.map((g) => html`<option value="${g}">`)}</datalist>
<fieldset aria-describedby="${v.form.errors.groupMappings ? 'groupMappings-error' : ''}"><legend>Group mappings</legend>
<p class="hint">A group of this tenant → the ${v.product.label} group names it becomes (comma-separated).</p>
${rows(v.form, ['gm_local', 'gm_product'], ['Tenant group', `${v.product.label} groups`], 'local-groups')}${err('groupMappings')}</fieldset>
<fieldset><legend>Attributes</legend>
<p class="hint">Sent for this tenant's users to this target (e.g. for row-level security). <code>42</code> is sent as a number, <code>true</code>/<code>false</code> as booleans; write <code>"42"</code> in quotes to send text.</p>
${rows(v.form, ['attr_key', 'attr_value'], ['Name', 'Value'])}${err('attributes')}</fieldset>
<fieldset><legend>${v.product.label} settings</legend>${renderSchemaFields(v.product.accessSettingsSchema, 'settings', 'grant', v.form)}${err('settings')}</fieldset>
<button type="submit">${v.existing ? 'Save grant' : 'Grant access'}</button>
</form>
${v.existing && actionButton(`${path}/revoke`, v.csrf, 'Revoke access…', 'danger')}
${tryLink}
</section>`;
}

export interface TryItView {
  base: string;
  tenant: Tenant;
  target: TargetView;
  product: ProductSchema;
  email: string;
  /** Claims, or why there are none. */
  claims: Record<string, unknown> | null;
  problem: string | null;
  /** Whether the signed-in console user's own tenant may open the target. */
  canOpen: boolean;
  ownTenantName: string;
  formError?: string;
  /** A product whose URL carries the token: the resource to open, once typed. */
  linkPath?: string | null;
}

/** How to open the product as yourself, by what it takes: a sign-in, a token for its SDK, or a URL. */
function openSection(v: TryItView): SafeHtml {
  if (!v.canOpen) return html`<p>Your organization (${v.ownTenantName}) has no access grant for this target: grant it to open ${v.product.label} as yourself.</p>`;
  const slug = encodeURIComponent(v.target.slug);
  if (v.product.capabilities.ssoRedirect) return html`<p>Runs the real sign-in, as you.</p><a class="button" href="${v.base}/sso/${slug}">Open ${v.product.label}</a>`;
  if (v.product.capabilities.jsonToken) {
    return html`<p>The token a host page would get for you (signed and recorded, as for real).</p><a class="button" href="${v.base}/embed/${slug}/token">Get a token</a>`;
  }
  if (v.product.capabilities.tokenLink && v.product.link) {
    const link = v.product.link;
    const open = `${v.base}/embed/${slug}/${link.resource}/${(v.linkPath ?? '').split('/').map(encodeURIComponent).join('/')}`;
    return html`<p>A host page frames <code>${v.base}/embed/${v.target.slug}/${link.resource}/${link.example}</code>; open one as yourself:</p>
<form method="get" action="${v.base}/console/tenants/${v.tenant.id}/access/${v.target.id}/try">${v.email && html`<input type="hidden" name="email" value="${v.email}">`}${input({ form: 'open', name: link.resource, label: link.label, value: v.linkPath ?? '', attrs: html`required maxlength="300" placeholder="${link.example}" autocapitalize="none" spellcheck="false"` })}
<button type="submit" class="secondary">Use this</button></form>
${v.linkPath && html`<a class="button" href="${open}">Open ${v.product.label}</a>`}`;
  }
  if (v.product.capabilities.tokenLink) {
    // A link, not a form: the console's CSP (form-action 'self') stops a form's redirect to another site.
    return html`<p>A host page frames <code>${v.base}/embed/${v.target.slug}/workbook/&lt;workbook&gt;</code>; open one as yourself:</p>
<form method="get" action="${v.base}/console/tenants/${v.tenant.id}/access/${v.target.id}/try">${v.email && html`<input type="hidden" name="email" value="${v.email}">`}${input({ form: 'open', name: 'workbook', label: 'Workbook (Name-id, as in its URL)', value: v.linkPath ?? '', attrs: html`required maxlength="200" pattern="[A-Za-z0-9_-]+"` })}
<button type="submit" class="secondary">Use this workbook</button></form>
${v.linkPath && html`<a class="button" href="${v.base}/embed/${slug}/workbook/${encodeURIComponent(v.linkPath)}">Open ${v.product.label}</a>`}`;
  }
  if (v.product.capabilities.tokenBroker) {
    const kind = encodeURIComponent(v.product.kind);
    return html`<p>A host page asks <code>${v.base}/embed/${v.target.slug}/${v.product.kind}/&lt;id&gt;/token</code>. The demo page embeds one as you: <code>${v.base}/demo/${kind}/${slug}/&lt;id&gt;</code>.</p>`;
  }
  return html`<p>${v.product.label} has no sign-in to open from here.</p>`;
}

export function tryItPage(v: TryItView): SafeHtml {
  const path = `${v.base}/console/tenants/${v.tenant.id}/access/${v.target.id}/try`;
  return html`<p class="muted"><a href="${v.base}/console/tenants/${v.tenant.id}">${v.tenant.name}</a> · ${v.product.label} target <code>${v.target.slug}</code></p>
<div class="grid">
<section class="card" aria-labelledby="claims-h"><h2 id="claims-h">Claims</h2>
<form method="get" action="${path}">
${input({ form: 'try', name: 'email', label: 'User email', type: 'email', value: v.email, attrs: html`required maxlength="254" autocapitalize="none" spellcheck="false"`, state: v.formError ? { values: {}, errors: { email: v.formError } } : undefined })}
<button type="submit" class="secondary">Show claims</button>
</form>
${v.problem && html`<p class="alert" role="alert">${v.problem}</p>`}
${v.claims && html`<p class="muted">What ${v.email}'s token would carry (decoded; nothing was signed or recorded):</p><pre id="claims">${JSON.stringify(v.claims, null, 2)}</pre>`}
</section>
<section class="card" aria-labelledby="open-h"><h2 id="open-h">Open ${v.product.label}</h2>
${openSection(v)}
</section>
</div>`;
}
