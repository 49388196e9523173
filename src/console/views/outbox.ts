import type { MailMode } from '../../config/mail.config';
import type { MailMessage } from '../../mail/mail-message.entity';
import { html, SafeHtml } from '../../common/html';
import { when } from './forms';

const MODE_NOTE: Record<MailMode, string> = {
  smtp: 'Mail is sent through SMTP_URL. Bodies are not shown here: they hold links meant for their recipients only.',
  outbox: 'No SMTP_URL is set: messages are kept here instead of being sent ("held"). Open one to read it and follow its link. Set SMTP_URL to send them.',
  off: 'No SMTP_URL is set in production: no mail is sent or kept. Invitation links are shown to you to copy when you invite someone.',
};

export function outboxPage(v: { base: string; mode: MailMode; messages: MailMessage[]; nextBefore: string | null }): SafeHtml {
  const rows = v.messages.map(
    (m) => html`<tr><td>${when(m.createdAt)}</td><td>${m.toAddress}</td>
<td>${v.mode === 'outbox' ? html`<a href="${v.base}/console/outbox/${m.id}">${m.subject}</a>` : m.subject}</td>
<td><code>${m.purpose}</code></td><td>${m.status}</td><td>${m.attempts}</td><td>${m.lastError ?? ''}</td></tr>`,
  );
  const older = v.nextBefore ? `${v.base}/console/outbox?before=${encodeURIComponent(v.nextBefore)}` : null;
  return html`<p>${MODE_NOTE[v.mode]}</p>
<section class="card" aria-labelledby="mail-h"><h2 id="mail-h">Messages, newest first</h2>
<div class="table-wrap"><table><thead><tr><th>When</th><th>To</th><th>Subject</th><th>For</th><th>Status</th><th>Attempts</th><th>Last error</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="7">No messages.</td></tr>`}</tbody></table></div>
<div class="pager">${older && html`<a href="${older}">Older messages</a>`}</div>
</section>`;
}

export function outboxMessagePage(v: { base: string; message: MailMessage; text: string }): SafeHtml {
  const m = v.message;
  return html`<p><a href="${v.base}/console/outbox">Back to the outbox</a></p>
<section class="card" aria-labelledby="msg-h"><h2 id="msg-h">${m.subject}</h2>
<dl><dt>To</dt><dd>${m.toAddress}</dd><dt>Queued</dt><dd>${when(m.createdAt)}</dd><dt>For</dt><dd><code>${m.purpose}</code></dd><dt>Status</dt><dd>${m.status}</dd></dl>
<pre data-copy data-copy-label="message text">${v.text}</pre>
</section>`;
}
