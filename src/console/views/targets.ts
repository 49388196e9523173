import type { TargetView } from '../../catalog/dto/target-input';
import type { KeyView } from '../../catalog/target-keys';
import type { Tenant } from '../../tenants/tenant.entity';
import type { ProductSchema } from '../product-schemas';
import { secretIsSet } from '../product-schemas';
import { renderSchemaFields } from '../schema-form';
import type { SetupGuide } from '../../products/product-definition';
import { actionButton, checkbox, FormState, formOpen, input, select, tag, when } from './forms';
import { utcMinute } from '../../common/dates';
import { html, joinHtml, SafeHtml } from '../../common/html';

export function targetsPage(v: { base: string; targets: TargetView[]; products: ProductSchema[] }): SafeHtml {
  const label = (kind: string) => v.products.find((p) => p.kind === kind)?.label ?? kind;
  const rows = v.targets
    .map(
      (t) => html`<tr><td><a href="${v.base}/console/targets/${t.id}">${t.name || t.slug}</a></td><td><code>${t.slug}</code></td>
<td>${label(t.kind)}</td><td>${t.baseUrl}</td><td>${t.disabled ? tag('disabled', true) : tag('active')}</td><td>${when(t.updatedAt)}</td></tr>`,
    );
  return html`<section class="card" aria-labelledby="t-h"><h2 id="t-h">BI targets</h2>
<div class="table-wrap"><table><thead><tr><th>Name</th><th>Slug</th><th>Product</th><th>Base URL</th><th>Status</th><th>Changed</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="6">No targets yet.</td></tr>`}</tbody></table></div>
<p>${joinHtml(v.products.map((p) => html`<a class="button secondary" href="${v.base}/console/targets/new?kind=${p.kind}">New ${p.label} target</a>`), ' ')}</p>
</section>`;
}

export interface TargetFormView {
  base: string;
  csrf: string;
  product: ProductSchema;
  /** Absent when creating. */
  target?: TargetView;
  form: FormState;
}

/** Create or edit a target: common fields, the product's settings from its schema, write-only secrets. */
export function targetForm(v: TargetFormView): SafeHtml {
  const t = v.target;
  const action = t ? `${v.base}/console/targets/${t.id}` : `${v.base}/console/targets`;
  const secrets = v.product.secrets
    .map((s) => {
      const set = t ? secretIsSet(t, s.name) : false;
      const label = `${s.description}${set ? ' — set; type a new one to replace it' : s.required ? '' : ' (optional)'}`;
      return input({ form: 'target', name: `secrets.${s.name}`, label, type: 'password', state: v.form, attrs: html`autocomplete="off"${!t && s.required && html` required`}` });
    });
  return html`${formOpen(action, v.csrf, v.form)}
${!t && html`<input type="hidden" name="kind" value="${v.product.kind}">`}
<div class="row"><div>${input({ form: 'target', name: 'name', label: 'Name', state: v.form, attrs: html`maxlength="200"` })}</div>
<div>${t ? html`<label>Slug</label><p><code>${t.slug}</code></p>` : input({ form: 'target', name: 'slug', label: 'Slug', state: v.form, hint: 'Part of the IdP URL: /sso/<slug>', attrs: html`required maxlength="63" autocapitalize="none" spellcheck="false"` })}</div></div>
${input({ form: 'target', name: 'baseUrl', label: `${v.product.label} base URL`, type: 'url', state: v.form, hint: 'e.g. https://bi.example.com', attrs: html`required maxlength="2048"` })}
${secrets.length ? html`<fieldset><legend>Secrets (write-only)</legend>${joinHtml(secrets, '\n')}</fieldset>` : ''}
<fieldset><legend>${v.product.label} settings</legend>${renderSchemaFields(v.product.settingsSchema, 'settings', 'target', v.form)}</fieldset>
${t && checkbox({ form: 'target', name: 'disabled', label: 'Disabled (refuses every sign-in)', state: v.form, checked: v.form.values.disabled === 'true' })}
<button type="submit">${t ? 'Save target' : `Create ${v.product.label} target`}</button>
</form>`;
}

export function setupPanel(guide: SetupGuide): SafeHtml {
  return html`<section class="card" aria-labelledby="setup-h"><h2 id="setup-h">Setup</h2>
<p>In <strong>${guide.where}</strong>, enter:</p>
<dl class="setup">${guide.items.map(
    (i, n) => html`<dt>${i.label}</dt><dd>${i.value !== undefined && html`<code id="setup-${n}" data-copy data-copy-label="${i.label}">${i.value}</code>`}${i.note && html`<span class="muted">${i.note}</span>`}</dd>`,
  )}</dl>
</section>`;
}

export function tryItChooser(v: { base: string; target: TargetView; tenants: Tenant[] }): SafeHtml {
  return html`<section class="card" aria-labelledby="try-h"><h2 id="try-h">Try it</h2>
<p class="muted">See the claims a user's token would carry (nothing is signed), and open the product as yourself.</p>
<form method="get" action="${v.base}/console/targets/${v.target.id}/try">
${select({ form: 'try', name: 'tenant', label: 'Tenant', options: v.tenants.map((t) => ({ value: t.id, label: `${t.name} (${t.slug})` })) })}
${input({ form: 'try', name: 'email', label: 'User email', type: 'email', attrs: html`maxlength="254" autocapitalize="none" spellcheck="false"` })}
<button type="submit" class="secondary">Show claims</button>
</form></section>`;
}

/**
 * A key-pair target's signing keys: states and dates, the PEM of the key signing now and of the
 * one published to sign next, and rotation. A product holding pasted keys (Qlik's staticKeys)
 * must be given the next key's kid and PEM before it starts signing, so both are shown.
 */
export function keysPanel(v: { base: string; target: TargetView; keys: KeyView[]; delaySeconds: number }): SafeHtml {
  const at = (d: Date | null) => (d ? utcMinute(d) : '—');
  const toPaste = v.keys.filter((k) => k.state === 'active' || k.state === 'next');
  const pemOf = (k: KeyView, n: number) => {
    const label = k.state === 'next' ? html`Public key (PEM) of the next key <code>${k.kid}</code>, signing from ${at(k.signsFrom)}` : html`Public key (PEM) of the signing key <code>${k.kid}</code>`;
    return html`<label for="key-pem-${String(n)}">${label}</label><textarea id="key-pem-${String(n)}" readonly rows="${String(Math.max(4, k.publicKeyPem.trim().split('\n').length))}" spellcheck="false">${k.publicKeyPem}</textarea>`;
  };
  return html`<section class="card" aria-labelledby="keys-h"><h2 id="keys-h">Signing keys</h2>
<p class="muted">Published at <code>/targets/${v.target.slug}/jwks.json</code>. A new key is published ${Math.round(v.delaySeconds / 60)} min before it signs; the old one stays published until the last token it signed has expired.</p>
<div class="table-wrap"><table><thead><tr><th>Key id</th><th>Alg</th><th>State</th><th>Created</th><th>Signs from</th><th>Published until</th></tr></thead>
<tbody>${v.keys.map((k) => html`<tr><td><code>${k.kid}</code></td><td>${k.alg}</td><td>${k.state}</td><td>${at(k.createdAt)}</td><td>${at(k.signsFrom)}</td><td>${at(k.unpublishAt)}</td></tr>`)}</tbody></table></div>
${toPaste.map(pemOf)}
<p><a class="button secondary" href="${v.base}/console/targets/${v.target.id}/keys/rotate">Rotate keys…</a></p>
</section>`;
}

/** The confirmation step of a rotation (a GET page; the POST does it). */
export function rotateConfirm(v: { base: string; csrf: string; target: TargetView; delaySeconds: number; pending: KeyView | undefined }): SafeHtml {
  if (v.pending) {
    return html`<section class="card" aria-labelledby="rotate-h"><h2 id="rotate-h">A rotation is under way</h2>
<p>Key <code>${v.pending.kid.slice(0, 12)}…</code> is published and starts signing at ${utcMinute(v.pending.signsFrom)}. Rotate again after that.</p>
<p><a href="${v.base}/console/targets/${v.target.id}">Back to the target</a></p></section>`;
  }
  return html`<section class="card" aria-labelledby="rotate-h"><h2 id="rotate-h">Rotate the signing keys of ${v.target.name || v.target.slug}?</h2>
<p>A new key pair is made and published now. It starts signing in ${Math.round(v.delaySeconds / 60)} min, once every verifier caching the JWKS has it; the current key keeps signing until then and stays published until its last token has expired. Sign-ins are not interrupted.</p>
<p class="muted">A product given the PEM instead of the JWKS URL needs the new key's kid and PEM when it starts signing (Qlik Cloud holds one key: swap it then); this target's page shows them.</p>
<form method="post" action="${v.base}/console/targets/${v.target.id}/keys/rotate">
<input type="hidden" name="_csrf" value="${v.csrf}">
<button type="submit">Rotate now</button> <a href="${v.base}/console/targets/${v.target.id}">Cancel</a>
</form></section>`;
}

/** /console/targets/new without ?kind=: the products to choose from. */
export function chooseKindPage(base: string, products: readonly ProductSchema[]): SafeHtml {
  return html`<section class="card"><p>Which BI product does this target sign people in to?</p>
<p>${joinHtml(products.map((p) => html`<a class="button secondary" href="${base}/console/targets/new?kind=${p.kind}">New ${p.label} target</a>`), ' ')}</p></section>`;
}

/** The target page's last card: deleting asks first (who loses access) and wants the slug typed. */
export function deletePanel(base: string, csrf: string, target: TargetView): SafeHtml {
  return html`<section class="card" aria-labelledby="delete-h"><h2 id="delete-h">Delete this target</h2>
<p class="muted">Ends sign-ins to it for every tenant and removes their access grants, for good. Shows who loses access and asks for its slug first.</p>
${actionButton(`${base}/console/targets/${target.id}/delete`, csrf, 'Delete target…', 'danger')}
</section>`;
}
