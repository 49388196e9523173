import { EnvReader, NodeEnv } from './env';

/**
 * How mail leaves the service:
 * - `smtp`: through SMTP_URL (nodemailer), from the outbox table by the mail worker;
 * - `outbox`: no SMTP_URL outside production: messages stay in the outbox table, shown in the
 *   console, so development and tests need no mail server;
 * - `off`: production without SMTP_URL: nothing is queued (nobody would read it), and features
 *   that need mail say so (an invitation's link is shown to the operator to copy).
 */
export type MailMode = 'smtp' | 'outbox' | 'off';

/** The `mail` namespace. `smtpUrl` may carry a password: never logged, never shown. */
export interface MailNamespace {
  mode: MailMode;
  smtpUrl: string | null;
  /** The From header: `MAIL_FROM`, else `embed-idp <no-reply@<PUBLIC_URL host>>`. */
  from: string;
}

/** A bare address or `Name <address>`, no line breaks (a header value: RFC 5322 §3.4). */
const FROM = /^(?:[^<>\r\n@]*<[^<>\s@]+@[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+)$/;

/** SMTP_URL, MAIL_FROM. */
export function parseMail(read: EnvReader, nodeEnv: NodeEnv, publicUrl: string): MailNamespace {
  const rawUrl = read.str('SMTP_URL');
  let smtpUrl: string | null = null;
  if (rawUrl !== undefined) {
    let ok = false;
    try {
      const u = new URL(rawUrl);
      ok = (u.protocol === 'smtp:' || u.protocol === 'smtps:') && u.hostname !== '';
    } catch {
      ok = false;
    }
    // The value is not echoed: it may hold the SMTP password.
    if (ok) smtpUrl = rawUrl;
    else read.problems.push('SMTP_URL: must be smtp://[user:password@]host[:port] or smtps://… (the value is not shown: it may hold a password)');
  }
  let host = 'localhost';
  try {
    host = new URL(publicUrl).hostname || host;
  } catch {
    // PUBLIC_URL's own parser reports it.
  }
  const from = read.str('MAIL_FROM') ?? `embed-idp <no-reply@${host}>`;
  if (!FROM.test(from) || from.length > 320) read.problems.push(`MAIL_FROM: must be an address (no-reply@example.com) or "Name <no-reply@example.com>" (got ${JSON.stringify(from.slice(0, 80))})`);
  const mode = smtpUrl ? 'smtp' : nodeEnv === 'production' ? 'off' : 'outbox';
  return { mode, smtpUrl, from };
}
