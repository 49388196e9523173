import type { MfaState } from '../../mfa/mfa.service';
import type { SessionSummary } from '../../auth/sessions.service';
import type { AccessView } from '../../catalog/dto/access-input';
import type { TargetView } from '../../catalog/dto/target-input';
import type { Tenant } from '../../tenants/tenant.entity';
import type { Group } from '../../users/group.entity';
import type { User } from '../../users/user.entity';
import { actionButton, emptyForm, FormState, formOpen, input, pairRows, select, tag, when } from './forms';
import { attributeRows } from '../attribute-input';
import { ACCENT_COLOR, textOn } from '../../common/look';
import { html, SafeHtml } from '../../common/html';

export interface TenantsListView {
  base: string;
  csrf: string;
  tenants: Tenant[];
  total: number;
  offset: number;
  limit: number;
  q: string;
  create: FormState;
}

export function tenantsPage(v: TenantsListView): SafeHtml {
  const rows = v.tenants
    .map(
      (t) => html`<tr><td><a href="${v.base}/console/tenants/${t.id}">${t.name}</a>${t.operator && html` ${tag('operators')}`}</td>
<td><code>${t.slug}</code></td><td>${t.disabled ? tag('disabled', true) : tag('active')}</td><td>${when(t.createdAt)}</td></tr>`,
    );
  const more = v.offset + v.tenants.length < v.total;
  const qs = (offset: number) => `?q=${encodeURIComponent(v.q)}&offset=${offset}`;
  return html`<div class="grid">
<section class="card" aria-labelledby="list-h">
<h2 id="list-h">Tenants (${v.total})</h2>
<form method="get" action="${v.base}/console/tenants" role="search">
${input({ form: 'search', name: 'q', label: 'Search by name or slug', type: 'search', value: v.q, attrs: html`maxlength="100"` })}
<button type="submit" class="secondary">Search</button>
</form>
<div class="table-wrap"><table><thead><tr><th>Name</th><th>Slug</th><th>Status</th><th>Created</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="4">No tenants match.</td></tr>`}</tbody></table></div>
<div class="pager">${v.offset > 0 && html`<a href="${qs(Math.max(0, v.offset - v.limit))}">Previous</a>`}${more && html`<a href="${qs(v.offset + v.limit)}">Next</a>`}</div>
</section>
<section class="card" aria-labelledby="create-h">
<h2 id="create-h">Create a tenant</h2>
${formOpen(`${v.base}/console/tenants`, v.csrf, v.create)}
${input({ form: 'create', name: 'name', label: 'Name', state: v.create, attrs: html`required maxlength="200"` })}
${input({ form: 'create', name: 'slug', label: 'Slug', state: v.create, hint: 'Lower-case letters, digits and hyphens. Used in sign-in links; cannot change later.', attrs: html`required maxlength="63" autocapitalize="none" spellcheck="false"` })}
<button type="submit">Create tenant</button>
</form>
</section>
</div>`;
}

export interface TenantView {
  base: string;
  csrf: string;
  operator: boolean;
  tenant: Tenant;
  users: (User & { groups: string[] })[];
  usersTotal: number;
  userQuery: string;
  groups: Group[];
  grants: AccessView[];
  /** Operators: every target, to grant one. */
  targets: TargetView[];
  /** Email domains of the tenant: its users' emails must be in one (when it has any). */
  domains: string[];
  forms: { settings?: FormState; user?: FormState; group?: FormState; domain?: FormState; branding?: FormState };
}

export function tenantPage(v: TenantView): SafeHtml {
  const t = v.tenant;
  const path = `${v.base}/console/tenants/${t.id}`;
  const settings = v.forms.settings ?? emptyForm({ name: t.name, mfaPolicy: t.mfaPolicy, passwordSignIn: String(t.passwordSignIn), logoutLandingUrl: t.logoutLandingUrl ?? '', ...attributeRows(t.attributes) });
  const userForm = v.forms.user ?? emptyForm({ role: 'member' });
  const brandingForm = v.forms.branding ?? emptyForm({ displayName: t.brandDisplayName ?? '', logoUrl: t.brandLogoUrl ?? '', accentColor: t.brandAccentColor ?? '', supportContact: t.brandSupportContact ?? '' });
  const groupForm = v.forms.group ?? emptyForm();
  const userRows = v.users
    .map(
      (u) => html`<tr><td><a href="${path}/users/${u.id}">${u.email}</a></td><td>${`${u.firstName} ${u.lastName}`.trim()}</td>
<td>${u.role === 'tenant_admin' && tag('tenant admin')}${t.operator && tag('operator')}</td><td>${u.groups.join(', ')}</td><td>${u.disabled ? tag('disabled', true) : tag('active')}</td></tr>`,
    );
  const groupRows = v.groups
    .map((g) => html`<tr><td>${g.name}</td><td>${actionButton(`${path}/groups/${g.id}/remove`, v.csrf, `Delete ${g.name}…`, 'secondary small')}</td></tr>`);
  const granted = new Set(v.grants.map((g) => g.targetId));
  const grantRows = v.grants
    .map(
      (g) => html`<tr><td><a href="${path}/access/${g.targetId}">${g.targetSlug}</a></td><td>${g.targetKind}</td>
<td>${Object.entries(g.groupMappings).map(([k, vs]) => `${k} → ${vs.join(', ')}`).join('; ')}</td>
<td><a href="${path}/access/${g.targetId}/try">Try it</a></td></tr>`,
    );
  const ungranted = v.targets.filter((x) => !granted.has(x.id));
  return html`<p class="muted">Slug <code>${t.slug}</code> · ${t.disabled ? tag('disabled', true) : tag('active')}${t.operator && html` · ${tag('platform operators')}`} · sign-in link <code>${`/login?tenant=${t.slug}`}</code> · <a href="${path}/api-keys">API keys</a>${!t.operator && v.operator && html` · <a href="${path}/handoff">Host hand-off</a>`}${v.operator && html` · <a href="${path}/sign-in">Sign-in sources</a>`}</p>
<div class="grid">
<section class="card" aria-labelledby="users-h">
<h2 id="users-h">Users (${v.usersTotal})</h2>
<form method="get" action="${path}" role="search">
${input({ form: 'usearch', name: 'email', label: 'Search by email', type: 'search', value: v.userQuery, attrs: html`maxlength="254"` })}
<button type="submit" class="secondary">Search</button>
</form>
<div class="table-wrap"><table><thead><tr><th>Email</th><th>Name</th><th>Role</th><th>Groups</th><th>Status</th></tr></thead>
<tbody>${userRows.length ? userRows : html`<tr><td colspan="5">No users yet.</td></tr>`}</tbody></table></div>
</section>
${t.disabled ? html`<section class="card" aria-labelledby="adduser-h"><h2 id="adduser-h">Add a user</h2><p class="muted">This tenant is disabled: enable it before adding users.</p></section>` : html`<section class="card" aria-labelledby="adduser-h">
<h2 id="adduser-h">Add a user</h2>
<p><a href="${path}/invitations">Invite someone by email instead</a> (they set their own password)</p>
${formOpen(`${path}/users`, v.csrf, userForm)}
${input({ form: 'user', name: 'email', label: 'Email', type: 'email', state: userForm, attrs: html`required maxlength="254" autocapitalize="none" spellcheck="false"` })}
<div class="row"><div>${input({ form: 'user', name: 'firstName', label: 'First name', state: userForm, attrs: html`maxlength="100"` })}</div>
<div>${input({ form: 'user', name: 'lastName', label: 'Last name', state: userForm, attrs: html`maxlength="100"` })}</div></div>
${input({ form: 'user', name: 'password', label: 'Password (optional)', type: 'password', state: userForm, hint: '12 to 256 characters. Without one the user cannot sign in with a password.', attrs: html`autocomplete="new-password" maxlength="256"` })}
${!t.operator && select({ form: 'user', name: 'role', label: 'Role', state: userForm, options: [{ value: 'member', label: 'Member (signs in to the BI tools)' }, { value: 'tenant_admin', label: 'Tenant admin (also manages this organization here)' }] })}
${v.groups.length > 0 && html`<fieldset><legend>Groups</legend>${v.groups
    .map((g) => {
      const checked = ((userForm.values.groups as string[] | undefined) ?? []).includes(g.name);
      return html`<div class="check"><input id="user-g-${g.id}" name="groups" type="checkbox" value="${g.name}"${checked && html` checked`}><label for="user-g-${g.id}">${g.name}</label></div>`;
    })}
${userForm.errors.groups && html`<p class="field-error">${userForm.errors.groups}</p>`}</fieldset>`}
<button type="submit">Add user</button>
</form>
</section>`}
<section class="card" aria-labelledby="groups-h">
<h2 id="groups-h">Groups</h2>
<p class="muted">Access grants map these to the BI tool's groups.</p>
<div class="table-wrap"><table><thead><tr><th>Name</th><th></th></tr></thead><tbody>${groupRows.length ? groupRows : html`<tr><td colspan="2">No groups yet.</td></tr>`}</tbody></table></div>
${formOpen(`${path}/groups`, v.csrf, groupForm)}
${input({ form: 'group', name: 'name', label: 'New group name', state: groupForm, attrs: html`required maxlength="100"` })}
<button type="submit">Add group</button>
</form>
</section>
<section class="card" aria-labelledby="access-h">
<h2 id="access-h">Access grants</h2>
<div class="table-wrap"><table><thead><tr><th>Target</th><th>Product</th><th>Group mappings</th><th></th></tr></thead><tbody>${grantRows.length ? grantRows : html`<tr><td colspan="4">No BI target granted yet.</td></tr>`}</tbody></table></div>
${v.operator && ungranted.length > 0 && html`<form method="get" action="${path}/access">
${select({ form: 'grant', name: 'target', label: 'Grant a target', options: ungranted.map((x) => ({ value: x.id, label: `${x.name || x.slug} (${x.kind})` })) })}
<button type="submit" class="secondary">Set up access</button></form>`}
</section>
<section class="card" aria-labelledby="domains-h">
<h2 id="domains-h">Email domains</h2>
<p class="muted">When a tenant has domains, its users' emails must be in one of them, and no other tenant may use them.</p>
<div class="table-wrap"><table><tbody>${v.domains.length ? v.domains.map((d) => html`<tr><td><code>${d}</code></td><td>${v.operator && actionButton(`${path}/email-domains/${encodeURIComponent(d)}/remove`, v.csrf, `Remove ${d}`, 'secondary small')}</td></tr>`) : html`<tr><td>No domains: any email is allowed.</td></tr>`}</tbody></table></div>
${v.operator && html`${formOpen(`${path}/email-domains`, v.csrf, v.forms.domain ?? emptyForm())}
${input({ form: 'domain', name: 'domain', label: 'Add a domain', state: v.forms.domain, hint: 'e.g. acme.example', attrs: html`required maxlength="253" autocapitalize="none" spellcheck="false"` })}
<button type="submit" class="secondary">Add domain</button></form>`}
</section>
<section class="card" aria-labelledby="brand-h">
<h2 id="brand-h">Branding</h2>
<p class="muted">How the sign-in, signed-out and error pages look for this tenant's users. Empty fields use the defaults.</p>
<img class="brand-preview" src="${path}/branding/preview.svg" width="320" height="180" alt="Preview of the sign-in card with this branding">
${formOpen(`${path}/branding`, v.csrf, brandingForm)}
${input({ form: 'branding', name: 'displayName', label: 'Name shown to users', state: brandingForm, hint: `What people sign in to. Empty: the tenant name (${t.name}).`, attrs: html`maxlength="200"` })}
${input({ form: 'branding', name: 'logoUrl', label: 'Logo address', type: 'url', state: brandingForm, hint: 'An https:// address of an image.', attrs: html`maxlength="2048" autocapitalize="none" spellcheck="false"` })}
${input({ form: 'branding', name: 'accentColor', label: 'Accent colour', state: brandingForm, hint: 'Six hex digits, e.g. #0a7d4f. Text on it is black or white, whichever reads better.', attrs: html`maxlength="7" pattern="#[0-9a-fA-F]{6}" autocapitalize="none" spellcheck="false"` })}
${input({ form: 'branding', name: 'supportContact', label: 'Support contact', state: brandingForm, hint: 'An email address or an https:// page, shown as "Need help?".', attrs: html`maxlength="2048" autocapitalize="none" spellcheck="false"` })}
<button type="submit">Save branding</button>
</form>
</section>
<section class="card" aria-labelledby="settings-h">
<h2 id="settings-h">Tenant settings</h2>
${formOpen(path, v.csrf, settings)}
${input({ form: 'settings', name: 'name', label: 'Name', state: settings, attrs: html`required maxlength="200"` })}
${select({
  form: 'settings',
  name: 'mfaPolicy',
  label: 'Two-step verification at password sign-in',
  state: settings,
  options: [
    { value: 'off', label: 'Off' },
    { value: 'optional', label: 'Optional (users who set it up)' },
    { value: 'required', label: 'Required (every user)' },
  ],
})}
${select({
  form: 'settings',
  name: 'passwordSignIn',
  label: 'Password sign-in when the tenant has a company identity provider',
  state: settings,
  hint: t.operator ? 'The operators can always sign in with a password.' : 'Off: its people must use “Sign in with your company account”. No effect without a provider.',
  options: [
    { value: 'true', label: 'Allowed' },
    { value: 'false', label: 'Off (company sign-in only)' },
  ],
})}
${input({ form: 'settings', name: 'logoutLandingUrl', label: 'After sign-out, send people to (optional)', type: 'url', state: settings, hint: 'An http(s) address of your app, e.g. https://app.acme.example/signed-out. Empty: our own signed-out page.', attrs: html`maxlength="2048" autocapitalize="none" spellcheck="false"` })}
${attributesFieldset('settings', settings, 'Sent for every user of this tenant, to every BI tool it is granted (e.g. a customer id for row-level security).')}
<button type="submit">Save</button>
</form>
</section>
${!t.operator && v.operator && html`<section class="card" aria-labelledby="status-h">
<h2 id="status-h">${t.disabled ? 'Disabled' : 'Disable this tenant'}</h2>
<p class="muted">${t.disabled ? 'Its users cannot sign in. Enabling lets them sign in again.' : 'Signs all its users out and stops them signing in, until enabled again. Asks first.'}</p>
${actionButton(`${path}/${t.disabled ? 'enable' : 'disable'}`, v.csrf, t.disabled ? 'Enable tenant' : 'Disable tenant…', t.disabled ? 'secondary' : 'danger')}
</section>
<section class="card" aria-labelledby="delete-h">
<h2 id="delete-h">Delete this tenant</h2>
<p class="muted">Removes it with its users, groups, API keys and access grants, for good. Shows what goes and asks for its slug first.</p>
${actionButton(`${path}/delete`, v.csrf, 'Delete tenant…', 'danger')}
</section>`}
</div>`;
}

export interface UserPageView {
  base: string;
  csrf: string;
  tenant: Tenant;
  user: User;
  groups: Group[];
  allGroups: Group[];
  sessions: SessionSummary[];
  mfa: MfaState;
  forms: { profile?: FormState; password?: FormState; member?: FormState };
}

export function userPage(v: UserPageView): SafeHtml {
  const path = `${v.base}/console/tenants/${v.tenant.id}/users/${v.user.id}`;
  const u = v.user;
  const profile = v.forms.profile ?? emptyForm({ firstName: u.firstName, lastName: u.lastName, role: u.role, ...attributeRows(u.attributes) });
  const password = v.forms.password ?? emptyForm();
  const member = v.forms.member ?? emptyForm();
  const mine = new Set(v.groups.map((g) => g.id));
  const others = v.allGroups.filter((g) => !mine.has(g.id));
  const sessionRows = v.sessions
    .map(
      (s) => html`<tr><td>${when(s.createdAt)}</td><td>${when(s.lastSeenAt)}</td><td>${s.ip ?? ''}</td><td>${(s.userAgent ?? '').slice(0, 60)}</td>
<td>${actionButton(`${path}/sessions/${s.id}/revoke`, v.csrf, 'End session', 'secondary small')}</td></tr>`,
    );
  return html`<p class="muted"><a href="${v.base}/console/tenants/${v.tenant.id}">${v.tenant.name}</a> · ${u.disabled ? tag('disabled', true) : tag('active')}</p>
<div class="grid">
<section class="card" aria-labelledby="profile-h">
<h2 id="profile-h">Profile</h2>
${formOpen(path, v.csrf, profile)}
<div class="row"><div>${input({ form: 'profile', name: 'firstName', label: 'First name', state: profile, attrs: html`maxlength="100"` })}</div>
<div>${input({ form: 'profile', name: 'lastName', label: 'Last name', state: profile, attrs: html`maxlength="100"` })}</div></div>
${!v.tenant.operator && select({ form: 'profile', name: 'role', label: 'Role', state: profile, options: [{ value: 'member', label: 'Member' }, { value: 'tenant_admin', label: 'Tenant admin' }] })}
${attributesFieldset('profile', profile, 'Sent for this user to every BI tool; over a tenant attribute of the same name, under an access grant\'s.')}
<button type="submit">Save</button>
</form>
<div class="row">${actionButton(`${path}/${u.disabled ? 'enable' : 'disable'}`, v.csrf, u.disabled ? 'Enable user' : 'Disable user…', u.disabled ? 'secondary' : 'danger')}
${actionButton(`${path}/delete`, v.csrf, 'Delete user…', 'danger')}</div>
</section>
<section class="card" aria-labelledby="pw-h">
<h2 id="pw-h">Set password</h2>
${formOpen(`${path}/password`, v.csrf, password)}
${input({ form: 'password', name: 'password', label: 'New password', type: 'password', state: password, hint: '12 to 256 characters. Ends the user\'s sessions.', attrs: html`required autocomplete="new-password" maxlength="256"` })}
<button type="submit">Set password</button>
</form>
</section>
<section class="card" aria-labelledby="ug-h">
<h2 id="ug-h">Groups</h2>
<div class="table-wrap"><table><tbody>${v.groups.length ? v.groups.map((g) => html`<tr><td>${g.name}</td><td>${actionButton(`${path}/groups/${g.id}/remove`, v.csrf, `Remove from ${g.name}`, 'secondary small')}</td></tr>`) : html`<tr><td>In no group.</td></tr>`}</tbody></table></div>
${others.length > 0 && html`${formOpen(`${path}/groups`, v.csrf, member)}
${select({ form: 'member', name: 'groupId', label: 'Add to group', state: member, options: others.map((g) => ({ value: g.id, label: g.name })) })}
<button type="submit" class="secondary">Add</button></form>`}
</section>
<section class="card" aria-labelledby="mfa-h">
<h2 id="mfa-h">Two-step verification</h2>
<p>Organization policy: ${v.mfa.policy}. Authenticator app: ${v.mfa.totp ? 'set up' : 'none'}. Passkeys: ${v.mfa.passkeys.length ? v.mfa.passkeys.map((p) => p.name).join(', ') : 'none'}. Recovery codes left: ${v.mfa.recoveryCodesLeft}.</p>
${actionButton(`${path}/mfa/reset`, v.csrf, 'Reset two-step verification (removes every factor and recovery code)', 'danger')}
</section>
<section class="card" aria-labelledby="sess-h">
<h2 id="sess-h">Sessions</h2>
<div class="table-wrap"><table><thead><tr><th>Started</th><th>Last seen</th><th>IP</th><th>Browser</th><th></th></tr></thead><tbody>${sessionRows.length ? sessionRows : html`<tr><td colspan="5">No live sessions.</td></tr>`}</tbody></table></div>
</section>
</div>`;
}

/** Typed attribute rows, read as the API's JSON (the hint says how). */
function attributesFieldset(form: string, state: FormState, purpose: string): SafeHtml {
  return html`<fieldset${state.errors.attributes && html` aria-describedby="${form}-attributes-error"`}><legend>Attributes</legend>
<p class="hint">${purpose} <code>42</code> is sent as a number, <code>true</code>/<code>false</code> as booleans; write <code>"42"</code> in quotes to send text.</p>
${pairRows(state, ['attr_key', 'attr_value'], ['Name', 'Value'])}${state.errors.attributes && html`<p class="field-error" id="${form}-attributes-error">${state.errors.attributes}</p>`}</fieldset>`;
}

/** The sign-in card drawn in the tenant's colours (what brandOf gives the real pages). Text escaped by html``. */
export function brandingPreviewSvg(t: Tenant): SafeHtml {
  const accent = t.brandAccentColor && ACCENT_COLOR.test(t.brandAccentColor) ? t.brandAccentColor : '#1f4fd1';
  const name = (t.brandDisplayName ?? t.name).slice(0, 40);
  const logo = t.brandLogoUrl ? 'logo: from its https address' : 'no logo';
  return html`<svg xmlns="http://www.w3.org/2000/svg" width="320" height="180" viewBox="0 0 320 180" font-family="system-ui, sans-serif">
<rect width="320" height="180" fill="#f4f5f7"/><rect x="0" y="0" width="320" height="6" fill="${accent}"/>
<rect x="30" y="20" width="260" height="145" rx="8" fill="#ffffff" stroke="#d0d4da"/>
<text x="50" y="48" font-size="15" font-weight="600" fill="#111">${name}</text>
<text x="50" y="64" font-size="10" fill="#666">${logo}</text>
<rect x="50" y="74" width="220" height="18" rx="3" fill="#fff" stroke="#c3c8cf"/><rect x="50" y="98" width="220" height="18" rx="3" fill="#fff" stroke="#c3c8cf"/>
<rect x="50" y="124" width="90" height="24" rx="4" fill="${accent}"/><text x="95" y="140" font-size="11" text-anchor="middle" fill="${textOn(accent)}">Sign in</text>
${t.brandSupportContact && html`<text x="150" y="140" font-size="9" fill="#444">Need help? ${t.brandSupportContact.slice(0, 28)}</text>`}
</svg>`;
}
