import { html, SafeHtml } from '../../common/html';
import type { Tenant } from '../../tenants/tenant.entity';
import { actionButton, formOpen, FormState, input, select, when } from './forms';

export interface InvitationsView {
  base: string;
  csrf: string;
  tenant: Tenant;
  form: FormState;
  open: { id: string; email: string; expiresAt: Date; createdAt: Date; createdBy: string }[];
  /** Just made, when no mail can carry it (production without SMTP_URL): shown this once to copy. */
  link: { email: string; url: string } | null;
  mailMode: 'smtp' | 'outbox' | 'off';
}

const HOW: Record<InvitationsView['mailMode'], string> = {
  smtp: 'The person gets an email with a link to set their password; the link works once, for 72 hours, and signs them in.',
  outbox: 'No SMTP_URL is set: the invitation email is kept in the Outbox instead of being sent (an operator reads it there). The link works once, for 72 hours.',
  off: 'No mail is set up on this service (SMTP_URL): after inviting, copy the link shown here and give it to the person yourself. It works once, for 72 hours.',
};

export function invitationsPage(v: InvitationsView): SafeHtml {
  const path = `${v.base}/console/tenants/${v.tenant.id}`;
  const rows = v.open.map(
    (i) => html`<tr><td>${i.email}</td><td>${when(i.createdAt)}</td><td>${when(i.expiresAt)}</td><td>${i.createdBy}</td>
<td>${actionButton(`${path}/invitations/${i.id}/revoke`, v.csrf, 'Withdraw')}</td></tr>`,
  );
  return html`<p><a href="${path}">Back to ${v.tenant.name}</a></p>
${v.link && html`<section class="card" aria-labelledby="link-h"><h2 id="link-h">Invitation link for ${v.link.email}</h2>
<p>Give this link to ${v.link.email} yourself: it is shown only now.</p>
<pre data-copy data-copy-label="invitation link">${v.link.url}</pre></section>`}
<section class="card" aria-labelledby="invite-h">
<h2 id="invite-h">Invite someone</h2>
<p class="muted">${HOW[v.mailMode]}</p>
${formOpen(`${path}/invitations`, v.csrf, v.form)}
${input({ form: 'invite', name: 'email', label: 'Email', type: 'email', state: v.form, attrs: html`required maxlength="254" autocapitalize="none" spellcheck="false"` })}
<div class="row"><div>${input({ form: 'invite', name: 'firstName', label: 'First name', state: v.form, attrs: html`maxlength="100"` })}</div>
<div>${input({ form: 'invite', name: 'lastName', label: 'Last name', state: v.form, attrs: html`maxlength="100"` })}</div></div>
${!v.tenant.operator && select({ form: 'invite', name: 'role', label: 'Role', state: v.form, options: [{ value: 'member', label: 'Member (signs in to the BI tools)' }, { value: 'tenant_admin', label: 'Tenant admin (also manages this organization here)' }] })}
<button type="submit">Send invitation</button>
</form>
</section>
<section class="card" aria-labelledby="open-h">
<h2 id="open-h">Open invitations</h2>
<div class="table-wrap"><table><thead><tr><th>Email</th><th>Sent</th><th>Expires</th><th>By</th><th>Actions</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="5">No open invitations.</td></tr>`}</tbody></table></div>
</section>`;
}
