import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { createTransport, Transporter } from 'nodemailer';
import { DataSource, EntityManager } from 'typeorm';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import type { MailMode } from '../config/mail.config';
import { pruneInBatches } from '../common/prune';
import { SecretBox } from '../crypto/secret-box';
import { mailBodyContext, MailMessage, MailStatus } from './mail-message.entity';
import { MailContent, renderMail, RenderedMail } from './mail-render';

/** A message to queue: who, about which tenant, for what, and what it says. */
export interface OutgoingMail {
  tenantId: string | null;
  purpose: string;
  to: string;
  content: MailContent;
}

/** Attempts before a message is given up ('failed'): with the backoff below, about a day. */
export const MAX_ATTEMPTS = 10;
/** How long a claimed message is left to its sender before another worker may take it again. */
const LEASE_SECONDS = 120;
/** Due messages are looked for this often (and at once after a commit that queued one). */
const POLL_MS = 5000;
/** Sent and given-up messages are kept this long for the console, then deleted. */
const KEEP_DAYS = 30;

/** Seconds before attempt `n + 1` after `n` failed: 30 s, 1 min, 2 min, … capped at 4 h. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(30 * 2 ** Math.max(0, attempts - 1), 4 * 3600);
}

/**
 * The outbox. A message is a row written in the caller's transaction (enqueue), so a change
 * that rolls back sends nothing and a committed one is never lost; after the commit the caller
 * calls dispatch(), which only wakes the worker: the request never waits for SMTP. The
 * worker claims due rows with FOR UPDATE SKIP LOCKED and a lease (several processes can run
 * it), sends each through nodemailer, and on failure retries with exponential backoff.
 *
 * Without SMTP_URL outside production the rows are written 'held' and stay for the console
 * (the log says one was held, never its body or link). In production without SMTP_URL
 * nothing is written: `canSend` is false and the features that need mail say so.
 */
@Injectable()
export class MailService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Mail');
  private transport: Transporter | null = null;
  private draining: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly box: SecretBox,
    private readonly scheduler: SchedulerRegistry,
    @InjectConfig('mail') private readonly config: Config<'mail'>,
  ) {}

  get mode(): MailMode {
    return this.config.mode;
  }

  /** Whether a queued message reaches its recipient (or, in development, the outbox page). */
  get canSend(): boolean {
    return this.config.mode !== 'off';
  }

  onApplicationBootstrap(): void {
    if (this.config.mode === 'smtp') {
      // Timeouts so a mail server that hangs does not hold a worker run for minutes.
      this.transport = createTransport({ url: this.config.smtpUrl!, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
    }
    this.log.log(
      this.config.mode === 'smtp'
        ? 'mail is sent through SMTP_URL'
        : this.config.mode === 'outbox'
          ? 'no SMTP_URL: mail is kept in the outbox (console: Outbox) instead of being sent'
          : 'no SMTP_URL in production: invitations and password resets by email are off',
    );
    const handle = setInterval(() => this.kick(), POLL_MS);
    handle.unref();
    this.scheduler.addInterval('mail-outbox', handle);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.draining;
    this.transport?.close();
  }

  /**
   * Writes the message in `m`'s transaction; returns its id, or null when mail is off. Call
   * dispatch() with the ids once the transaction has committed.
   */
  async enqueue(m: EntityManager, mail: OutgoingMail): Promise<string | null> {
    if (this.config.mode === 'off') return null;
    const rendered = renderMail(mail.content);
    const status: MailStatus = this.config.mode === 'smtp' ? 'pending' : 'held';
    const [row] = (await m.query(
      `INSERT INTO mail_outbox (tenant_id, purpose, to_address, subject, body_enc, status) VALUES ($1, $2, $3, $4, 'pending-seal', $5) RETURNING id`,
      [mail.tenantId, mail.purpose, mail.to, rendered.subject.slice(0, 300), status],
    )) as { id: string }[];
    // Sealed under its own id (the AES-GCM additional data), so a body copied to another row does not open.
    await m.query(`UPDATE mail_outbox SET body_enc = $2 WHERE id = $1`, [row.id, this.seal(row.id, rendered)]);
    return row.id;
  }

  /** After the commit: held messages are logged, pending ones sent soon. Never waits for SMTP. */
  dispatch(ids: (string | null)[]): void {
    const queued = ids.filter((id): id is string => id !== null);
    if (!queued.length) return;
    if (this.config.mode === 'outbox') {
      for (const id of queued) this.log.log({ mailId: id }, 'no SMTP_URL: a message was kept in the outbox; read it in the console (Outbox)');
      return;
    }
    this.kick();
  }

  /** Sends what is due now (the worker's tick; tests call it to wait for delivery). */
  async drain(): Promise<void> {
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = (async () => {
      try {
        do {
          this.again = false;
          while (!this.stopped && (await this.sendDue()) > 0) {
            // More may be due: another batch.
          }
        } while (this.again && !this.stopped);
        await this.prune();
      } catch (err) {
        this.log.error({ err }, 'the mail worker failed; it tries again at the next tick');
      } finally {
        this.draining = null;
      }
    })();
    return this.draining;
  }

  /** The newest messages first, for the console (bodies are not read here). */
  list(opts: { tenantId?: string | null; limit: number; before?: Date }): Promise<MailMessage[]> {
    const q = this.dataSource.getRepository(MailMessage).createQueryBuilder('m').orderBy('m.createdAt', 'DESC').limit(opts.limit);
    if (opts.tenantId) q.andWhere('m.tenantId = :t', { t: opts.tenantId });
    if (opts.before) q.andWhere('m.createdAt < :b', { b: opts.before });
    return q.getMany();
  }

  /** One message with its bodies opened, or null. */
  async read(id: string): Promise<(MailMessage & { body: RenderedMail }) | null> {
    const m = await this.dataSource.getRepository(MailMessage).createQueryBuilder('m').addSelect('m.bodyEnc').where('m.id = :id', { id }).getOne();
    if (!m) return null;
    return { ...m, body: this.open(m.id, m.bodyEnc) };
  }

  private kick(): void {
    if (this.config.mode !== 'smtp' || this.stopped) return;
    void this.drain();
  }

  /** Claims up to a batch of due messages (a lease, so a crashed sender's rows come back) and sends them; returns how many were claimed. */
  private async sendDue(): Promise<number> {
    if (!this.transport) return 0;
    const claimed = (await this.dataSource.query(
      `UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $1)
        WHERE id IN (SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= now()
                     ORDER BY next_attempt_at LIMIT 20 FOR UPDATE SKIP LOCKED)
        RETURNING id, to_address, subject, body_enc, attempts`,
      [LEASE_SECONDS],
    )) as [{ id: string; to_address: string; subject: string; body_enc: string; attempts: number }[], number];
    const rows = claimed[0];
    for (const row of rows) {
      try {
        const body = this.open(row.id, row.body_enc);
        await this.transport.sendMail({ from: this.config.from, to: row.to_address, subject: row.subject, text: body.text, html: body.html });
        await this.dataSource.query(`UPDATE mail_outbox SET status = 'sent', sent_at = now(), last_error = NULL WHERE id = $1`, [row.id]);
      } catch (err) {
        const gaveUp = row.attempts >= MAX_ATTEMPTS;
        // nodemailer's message names the server's answer, never the URL's password.
        const reason = String((err as Error).message ?? err).slice(0, 500);
        await this.dataSource.query(
          `UPDATE mail_outbox SET status = $2, last_error = $3, next_attempt_at = now() + make_interval(secs => $4) WHERE id = $1`,
          [row.id, gaveUp ? 'failed' : 'pending', reason, retryDelaySeconds(row.attempts)],
        );
        this.log.warn({ mailId: row.id, attempts: row.attempts, reason }, gaveUp ? 'a message could not be sent and was given up' : 'a message could not be sent; it will be retried');
      }
    }
    return rows.length;
  }

  private prune(): Promise<number> {
    return pruneInBatches(
      this.dataSource,
      { table: 'mail_outbox', key: ['id'], where: `status IN ('sent', 'failed') AND created_at < now() - make_interval(days => $1)` },
      KEEP_DAYS,
    );
  }

  private seal(id: string, r: RenderedMail): string {
    return this.box.seal(JSON.stringify({ text: r.text, html: r.html }), mailBodyContext(id));
  }

  private open(id: string, sealed: string): RenderedMail & { subject: string } {
    const { text, html } = JSON.parse(this.box.open(sealed, mailBodyContext(id))) as { text: string; html: string };
    return { subject: '', text, html };
  }
}
