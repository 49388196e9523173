import { Controller, Get, Param, Req, Res, UseFilters } from '@nestjs/common';
import type { Response } from 'express';
import { AuthenticatedRequest } from '../auth/auth.decorators';
import { parseInstant } from '../common/dates';
import { notFound } from '../common/errors';
import { Undocumented } from '../common/openapi';
import { LoadsSession } from '../common/route-protection';
import { MailService } from '../mail/mail.service';
import { ConsoleErrorFilter, ConsoleKit } from './console-kit';
import { outboxMessagePage, outboxPage } from './views/outbox';

const PAGE = 50;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Outgoing mail, for operators: what was sent, what is being retried and why. Without
 * SMTP_URL outside production this is where the messages are read (their links followed);
 * with SMTP the bodies are not shown, because their links belong to their recipients.
 */
@Undocumented('HTML operator console, for browsers')
@Controller('console/outbox')
@LoadsSession()
@UseFilters(ConsoleErrorFilter)
export class ConsoleOutboxController {
  constructor(
    private readonly kit: ConsoleKit,
    private readonly mail: MailService,
  ) {}

  @Get()
  async list(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    this.kit.requireOperator(ctx);
    const before = typeof req.query.before === 'string' ? (parseInstant(req.query.before) ?? undefined) : undefined;
    const messages = await this.mail.list({ limit: PAGE, before });
    const nextBefore = messages.length === PAGE ? messages[messages.length - 1].createdAt.toISOString() : null;
    this.kit.render(ctx, 200, 'Outbox', 'outbox', outboxPage({ base: ctx.base, mode: this.mail.mode, messages, nextBefore }));
  }

  @Get(':id')
  async show(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('id') id: string): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    this.kit.requireOperator(ctx);
    const message = this.mail.mode === 'outbox' && UUID.test(id) ? await this.mail.read(id) : null;
    // A DomainError, which the console's filter answers as its 404 page (an HttpException would be its 500).
    if (!message) throw notFound('message_not_found');
    this.kit.render(ctx, 200, 'Message', 'outbox', outboxMessagePage({ base: ctx.base, message, text: message.body.text }));
  }
}
