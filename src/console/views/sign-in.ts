import { html, SafeHtml } from '../../common/html';
import { ASYMMETRIC_ALGORITHMS } from '../../inbound/oidc-issuers';
import type { TrustedIssuer } from '../../inbound/trusted-issuer/trusted-issuer.entity';
import type { UpstreamProviderView } from '../../inbound/oidc-upstream/upstream-providers.service';
import type { Tenant } from '../../tenants/tenant.entity';
import { actionButton, checkbox, formOpen, FormState, input, tag, when } from './forms';

export interface SignInView {
  base: string;
  csrf: string;
  tenant: Tenant;
  issuers: TrustedIssuer[];
  provider: UpstreamProviderView | null;
  issuerForm: FormState;
  providerForm: FormState;
}

const checked = (form: FormState, name: string, fallback: boolean): boolean =>
  Object.keys(form.values).length ? form.values[name] === 'true' || form.values[name] === true : fallback;

export function signInPage(v: SignInView): SafeHtml {
  const path = `${v.base}/console/tenants/${v.tenant.id}/sign-in`;
  const rows = v.issuers.map(
    (i) => html`<tr><td><code>${i.issuer}</code></td><td><code>${i.audience}</code></td><td>${i.algorithms.join(', ')}</td>
<td>${i.jitProvisioning ? tag('creates users') : tag('known users only', true)}</td><td>${when(i.createdAt)}</td>
<td>${actionButton(`${path}/issuers/${i.id}/delete`, v.csrf, 'Delete…', 'secondary small')}</td></tr>`,
  );
  const chosen = Array.isArray(v.issuerForm.values.algorithms) ? (v.issuerForm.values.algorithms as string[]) : ['RS256'];
  const algErr = v.issuerForm.errors.algorithms;
  const p = v.provider;
  const pf = Object.keys(v.providerForm.values).length ? v.providerForm : { ...v.providerForm, values: p ? { issuer: p.issuer, clientId: p.clientId } : {} };
  return html`<p><a href="${v.base}/console/tenants/${v.tenant.id}">Back to ${v.tenant.name}</a></p>
<section class="card" aria-labelledby="iss-h">
<h2 id="iss-h">Trusted issuers</h2>
<p class="muted">A token from one of these issuers, for its audience, signs a person in as this organization's user with that email. Operators only: a trusted issuer can sign in as anyone here.</p>
<div class="table-wrap"><table><thead><tr><th>Issuer</th><th>Audience</th><th>Algorithms</th><th>Unknown email</th><th>Added</th><th>Actions</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="6">No trusted issuers.</td></tr>`}</tbody></table></div>
<h3>Add a trusted issuer</h3>
${formOpen(`${path}/issuers`, v.csrf, v.issuerForm)}
${input({ form: 'issuer', name: 'issuer', label: 'Issuer', type: 'url', state: v.issuerForm, hint: "Compared with the token's iss exactly, e.g. https://acme.eu.auth0.com/ (https only).", attrs: html`required maxlength="500"` })}
${input({ form: 'issuer', name: 'audience', label: 'Audience', state: v.issuerForm, hint: 'The client id or API identifier the tokens are issued to.', attrs: html`required maxlength="500"` })}
<fieldset${algErr && html` aria-describedby="issuer-algorithms-error"`}><legend>Algorithms</legend>
<div class="row">${ASYMMETRIC_ALGORITHMS.map((a) => html`<div class="check"><input id="issuer-alg-${a}" name="algorithms" type="checkbox" value="${a}"${chosen.includes(a) && html` checked`}><label for="issuer-alg-${a}">${a}</label></div>`)}</div>
${algErr && html`<p class="field-error" id="issuer-algorithms-error">${algErr}</p>`}</fieldset>
${checkbox({ form: 'issuer', name: 'jitProvisioning', label: 'Create the user when the email is unknown', state: v.issuerForm, checked: checked(v.issuerForm, 'jitProvisioning', false) })}
<button type="submit">Add trusted issuer</button>
</form>
</section>
<section class="card" aria-labelledby="up-h">
<h2 id="up-h">Company sign-in (OpenID Connect)</h2>
<p class="muted">${p ? html`People of this organization sign in at <code>${p.issuer}</code>. Register <code>/login/company/callback</code> under this service's public URL as the redirect URI there.` : 'Not set: people sign in with a password here. Set the IdP this organization signs in at.'}</p>
${formOpen(`${path}/provider`, v.csrf, pf)}
${input({ form: 'provider', name: 'issuer', label: 'Issuer', type: 'url', state: pf, hint: "The IdP's issuer, e.g. https://acme.okta.com (https only).", attrs: html`required maxlength="500"` })}
${input({ form: 'provider', name: 'clientId', label: 'Client id', state: pf, attrs: html`required maxlength="500"` })}
${input({ form: 'provider', name: 'clientSecret', label: 'Client secret', type: 'password', state: pf, hint: p ? 'Set (stored sealed, never shown). Type a new one only to replace it.' : 'Stored sealed, never shown again.', attrs: p ? html`maxlength="2000" autocomplete="new-password" placeholder="set"` : html`required maxlength="2000" autocomplete="new-password"` })}
${checkbox({ form: 'provider', name: 'jitProvisioning', label: 'Create the user when the email is unknown', state: pf, checked: checked(v.providerForm, 'jitProvisioning', p?.jitProvisioning ?? false) })}
<button type="submit">${p ? 'Save company sign-in' : 'Set company sign-in'}</button>
</form>
${p && html`<p class="muted">Last changed ${when(p.updatedAt)}.</p>${actionButton(`${path}/provider/remove`, v.csrf, 'Remove company sign-in…', 'secondary small')}`}
</section>`;
}
