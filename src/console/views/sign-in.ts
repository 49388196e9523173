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

/** The claims read other than the standard ones (OpenID Connect Core §5.1), and the groups claim. */
function claimsOf(i: TrustedIssuer): SafeHtml {
  const mapped: [string, string][] = [];
  if (i.claimEmail !== 'email') mapped.push(['email', i.claimEmail]);
  if (i.claimFirstName !== 'given_name') mapped.push(['first name', i.claimFirstName]);
  if (i.claimLastName !== 'family_name') mapped.push(['last name', i.claimLastName]);
  if (i.claimGroups) mapped.push([i.syncGroups ? 'groups (synced)' : 'groups', i.claimGroups]);
  return mapped.length ? html`${mapped.map(([what, claim], n) => html`${n ? html`<br>` : ''}${what} <code>${claim}</code>`)}` : html`standard`;
}

/** A trusted issuer's fields (the API's), for adding one and for editing one. */
function issuerFields(form: FormState): SafeHtml {
  const chosen = Array.isArray(form.values.algorithms) ? (form.values.algorithms as string[]) : ['RS256'];
  const algErr = form.errors.algorithms;
  return html`${input({ form: 'issuer', name: 'issuer', label: 'Issuer', type: 'url', state: form, hint: "Compared with the token's iss exactly, e.g. https://acme.eu.auth0.com/ (https only).", attrs: html`required maxlength="500"` })}
${input({ form: 'issuer', name: 'audience', label: 'Audience', state: form, hint: 'The client id or API identifier the tokens are issued to.', attrs: html`required maxlength="500"` })}
<fieldset${algErr && html` aria-describedby="issuer-algorithms-error"`}><legend>Algorithms</legend>
<div class="row">${ASYMMETRIC_ALGORITHMS.map((a) => html`<div class="check"><input id="issuer-alg-${a}" name="algorithms" type="checkbox" value="${a}"${chosen.includes(a) && html` checked`}><label for="issuer-alg-${a}">${a}</label></div>`)}</div>
${algErr && html`<p class="field-error" id="issuer-algorithms-error">${algErr}</p>`}</fieldset>
<fieldset><legend>Claims</legend>
<p class="hint">A claim name, or a dotted path into nested claims (e.g. <code>realm_access.roles</code>); an exact claim name wins, so URL-named claims work. Blank: the default.</p>
${input({ form: 'issuer', name: 'claimEmail', label: 'Email claim', state: form, attrs: html`maxlength="200" placeholder="email" autocapitalize="none" spellcheck="false"` })}
${input({ form: 'issuer', name: 'claimFirstName', label: 'First name claim', state: form, attrs: html`maxlength="200" placeholder="given_name" autocapitalize="none" spellcheck="false"` })}
${input({ form: 'issuer', name: 'claimLastName', label: 'Last name claim', state: form, attrs: html`maxlength="200" placeholder="family_name" autocapitalize="none" spellcheck="false"` })}
${input({ form: 'issuer', name: 'claimGroups', label: 'Groups claim', state: form, hint: "Names of this organization's groups; blank: groups are not read.", attrs: html`maxlength="200" placeholder="groups" autocapitalize="none" spellcheck="false"` })}
</fieldset>
${input({ form: 'issuer', name: 'maxTokenAgeSeconds', label: 'Maximum token age (seconds)', type: 'number', state: form, hint: 'Seconds since the sign-in (auth_time, else iat) a token is still accepted; 30 to 86400, default 300.', attrs: html`min="30" max="86400" step="1" placeholder="300"` })}
${checkbox({ form: 'issuer', name: 'jitProvisioning', label: 'Create the user when the email is unknown', state: form, checked: checked(form, 'jitProvisioning', false) })}
${checkbox({ form: 'issuer', name: 'syncGroups', label: "Replace the user's groups with the token's at each sign-in", state: form, checked: checked(form, 'syncGroups', false) })}`;
}

/** The page editing one trusted issuer (PATCH /api/v1/tenants/:t/trusted-issuers/:id). */
export function issuerEditPage(v: { base: string; csrf: string; tenant: Tenant; issuer: TrustedIssuer; form: FormState }): SafeHtml {
  const path = `${v.base}/console/tenants/${v.tenant.id}/sign-in`;
  return html`<p><a href="${path}">Back to the sign-in sources of ${v.tenant.name}</a></p>
<section class="card" aria-labelledby="edit-h">
<h2 id="edit-h">Edit a trusted issuer</h2>
<p class="muted">Added ${when(v.issuer.createdAt)}. Tokens already accepted stay spent whatever changes here.</p>
${formOpen(`${path}/issuers/${v.issuer.id}`, v.csrf, v.form)}
${issuerFields(v.form)}
<button type="submit">Save trusted issuer</button>
</form>
</section>`;
}

export function signInPage(v: SignInView): SafeHtml {
  const path = `${v.base}/console/tenants/${v.tenant.id}/sign-in`;
  const rows = v.issuers.map(
    (i) => html`<tr><td><code>${i.issuer}</code><br><span class="muted">audience</span> <code>${i.audience}</code></td><td>${i.algorithms.join(', ')}</td>
<td>${claimsOf(i)}<br><span class="muted">at most ${i.maxTokenAgeSeconds} s old</span></td>
<td>${i.jitProvisioning ? tag('creates users') : tag('known users only', true)}</td><td>${when(i.createdAt)}</td>
<td><div class="actions"><a href="${path}/issuers/${i.id}">Edit</a>${actionButton(`${path}/issuers/${i.id}/delete`, v.csrf, 'Delete…', 'secondary small')}</div></td></tr>`,
  );
  const p = v.provider;
  const pf = Object.keys(v.providerForm.values).length ? v.providerForm : { ...v.providerForm, values: p ? { issuer: p.issuer, clientId: p.clientId, claimGroups: p.claimGroups ?? '' } : {} };
  return html`<p><a href="${v.base}/console/tenants/${v.tenant.id}">Back to ${v.tenant.name}</a></p>
<section class="card" aria-labelledby="iss-h">
<h2 id="iss-h">Trusted issuers</h2>
<p class="muted">A token from one of these issuers, for its audience, signs a person in as this organization's user with that email. Operators only: a trusted issuer can sign in as anyone here.</p>
<div class="table-wrap"><table class="stack"><thead><tr><th>Issuer and audience</th><th>Algorithms</th><th>Claims</th><th>Unknown email</th><th>Added</th><th>Actions</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="6">No trusted issuers.</td></tr>`}</tbody></table></div>
<h3>Add a trusted issuer</h3>
${formOpen(`${path}/issuers`, v.csrf, v.issuerForm)}
${issuerFields(v.issuerForm)}
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
${input({ form: 'provider', name: 'claimGroups', label: 'Groups claim', state: pf, hint: "A claim name or dotted path with names of this organization's groups; blank: groups are not read.", attrs: html`maxlength="200" placeholder="groups" autocapitalize="none" spellcheck="false"` })}
${checkbox({ form: 'provider', name: 'jitProvisioning', label: 'Create the user when the email is unknown', state: pf, checked: checked(v.providerForm, 'jitProvisioning', p?.jitProvisioning ?? false) })}
${checkbox({ form: 'provider', name: 'syncGroups', label: "Replace the user's groups with the ID token's at each sign-in", state: pf, checked: checked(v.providerForm, 'syncGroups', p?.syncGroups ?? false) })}
<button type="submit">${p ? 'Save company sign-in' : 'Set company sign-in'}</button>
</form>
${p && html`<p class="muted">Last changed ${when(p.updatedAt)}.</p>${actionButton(`${path}/provider/remove`, v.csrf, 'Remove company sign-in…', 'secondary small')}`}
</section>`;
}
