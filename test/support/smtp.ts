import { AddressInfo } from 'node:net';
import { SMTPServer, SMTPServerOptions } from 'smtp-server';

/** A message as the SMTP server received it: envelope, headers, and the decoded text and HTML parts. */
export interface ReceivedMail {
  from: string;
  to: string[];
  headers: Record<string, string>;
  subject: string;
  text: string;
  html: string;
  raw: string;
}

/**
 * A real SMTP server (smtp-server, the library nodemailer's authors keep) on loopback that
 * keeps every message it accepts. `refuseNext(n)` makes the next n deliveries fail with a
 * temporary error (451), so the retry path is exercised against a real server too.
 */
export class TestSmtp {
  readonly received: ReceivedMail[] = [];
  private refusals = 0;
  private waiters: (() => void)[] = [];
  private server!: SMTPServer;
  port = 0;

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(opts: Partial<SMTPServerOptions> = {}): Promise<void> {
    this.server = new SMTPServer({
      authOptional: true,
      // Plain SMTP on loopback: nodemailer would otherwise upgrade to the server's self-signed certificate.
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo: (_address, _session, cb) => {
        if (this.refusals > 0) {
          this.refusals -= 1;
          const e = new Error('try again later') as Error & { responseCode: number };
          e.responseCode = 451;
          cb(e);
          return;
        }
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          this.received.push({ ...parseMime(raw), from, to: session.envelope.rcptTo.map((r) => r.address), raw });
          this.waiters.splice(0).forEach((w) => w());
          cb();
        });
      },
      ...opts,
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  refuseNext(n: number): void {
    this.refusals = n;
  }

  /** Resolves once `count` messages have arrived (or rejects after `ms`). */
  async waitFor(count: number, ms = 10_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + ms;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} messages over SMTP, got ${this.received.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received;
  }

  /**
   * Resolves with the first message to `address` that arrives (or has arrived) after `since`
   * messages: counting alone would be satisfied by a message still in flight from an earlier test.
   */
  async waitForTo(address: string, since = 0, ms = 10_000): Promise<ReceivedMail> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.received.slice(since).find((x) => x.to.includes(address));
      if (m) return m;
      if (Date.now() >= deadline) throw new Error(`expected a message to ${address} over SMTP`);
      await this.waitFor(this.received.length + 1, Math.max(1, deadline - Date.now())).catch(() => undefined);
    }
  }

  /** The newest message to `address`. */
  lastTo(address: string): ReceivedMail | undefined {
    return [...this.received].reverse().find((m) => m.to.includes(address));
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The first http(s) URL in a text, e.g. the link of an invitation. */
export function linkIn(text: string): string {
  const m = /https?:\/\/\S+/.exec(text);
  if (!m) throw new Error(`no link in: ${text}`);
  return m[0];
}

function splitHead(raw: string): { headers: Record<string, string>; body: string } {
  const at = raw.indexOf('\r\n\r\n');
  const head = at === -1 ? raw : raw.slice(0, at);
  const body = at === -1 ? '' : raw.slice(at + 4);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body };
}

function decodeBody(body: string, encoding: string | undefined): string {
  const e = (encoding ?? '').toLowerCase();
  if (e === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (e === 'quoted-printable') {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => `%${h}`);
    return Buffer.from(decodeURIComponentBytes(bytes)).toString('utf8');
  }
  return body;
}

/** "%C3%A9" escapes (from quoted-printable) back to bytes, other characters as they are. */
function decodeURIComponentBytes(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(...Buffer.from(s[i], 'utf8'));
  }
  return Buffer.from(out);
}

/** RFC 2047 encoded words (=?UTF-8?Q?…?= / =?UTF-8?B?…?=) in a header. */
function decodeWords(v: string): string {
  return v
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_m, _cs: string, enc: string, text: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : decodeURIComponentBytes(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, '%$1')).toString('utf8'),
    );
}

/** Just enough MIME (RFC 2045/2046) for what nodemailer writes: nested multiparts, text/plain and text/html parts. */
function parseMime(raw: string): Omit<ReceivedMail, 'from' | 'to' | 'raw'> {
  const { headers } = splitHead(raw);
  const parts = { text: '', html: '' };
  const walk = (chunk: string) => {
    const { headers: h, body } = splitHead(chunk);
    const type = h['content-type'] ?? 'text/plain';
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
    if (/^multipart\//i.test(type) && boundary) {
      for (const p of body.split(`--${boundary}`).slice(1)) if (!p.startsWith('--')) walk(p.replace(/^\r\n/, ''));
      return;
    }
    const decoded = decodeBody(body, h['content-transfer-encoding']);
    if (/^text\/html/i.test(type)) parts.html = decoded;
    else if (/^text\/plain/i.test(type)) parts.text = decoded;
  };
  walk(raw);
  return { headers, subject: decodeWords(headers.subject ?? ''), ...parts };
}
