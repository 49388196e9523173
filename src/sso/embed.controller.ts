import { Controller, Get, Options, Param, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { AuthenticatedRequest, CurrentSession, Public, WithSession } from '../auth/auth.decorators';
import type { SessionContext } from '../auth/auth.types';
import { SESSION_COOKIE } from '../auth/sessions.service';
import { notFound } from '../common/errors';
import { requestMeta } from '../common/request-meta';
import { answerPreflight, applyCors } from './cors';
import { EmbedService } from './embed.service';
import { send } from './sso.controller';
import { SsoService } from './sso.service';
import { SsoStore } from './sso.store';

/**
 * Signed embeds for the signed-in user: `GET /embed/<target>/dashboard/<id>` (or question)
 * redirects to the BI tool's iframe URL, or answers `{url, expiresAt}` with ?response=json.
 */
@Controller('embed')
export class EmbedController {
  constructor(
    private readonly sso: SsoService,
    private readonly embeds: EmbedService,
    private readonly store: SsoStore,
  ) {}

  @Get(':target/:kind/:id')
  @WithSession()
  async embed(
    @Param('target') slug: string,
    @Param('kind') kind: string,
    @Param('id') id: string,
    @CurrentSession() session: SessionContext | null,
    @Req() req: AuthenticatedRequest,
    @Res() res: Response,
  ): Promise<void> {
    const json = req.query.response === 'json';
    const meta = requestMeta(req);
    const loaded = await this.sso.requireTarget(slug, session, meta, 'embed');
    if (json) applyCors(req, res, loaded.target.settings);
    send(res, await this.embeds.issue({ loaded, kind, id, session, json, cookie: req.cookies?.[SESSION_COOKIE], meta }));
  }

  @Options(':target/:kind/:id')
  @Public()
  async preflight(@Param('target') slug: string, @Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const loaded = await this.store.load(slug, null, null);
    if (!loaded || loaded.target.disabled) throw notFound('target', { target: slug });
    answerPreflight(req, res, loaded.target.settings);
  }
}
