import { Body, Controller, Get, HttpCode, Options, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { AuthenticatedRequest, CurrentSession } from '../auth/auth.decorators';
import { Public, LoadsSession, SESSION_COOKIE } from '../common/route-protection';
import type { SessionContext } from '../auth/auth.types';
import { notFound } from '../common/errors';
import { ApiErrors, Responds } from '../common/openapi';
import { requestMeta } from '../common/request-meta';
import { BrokerService } from './broker.service';
import { answerPreflight, applyCors } from './cors';
import { EmbedService } from './embed.service';
import { send } from './sso.controller';
import { SsoFlow, SsoService } from './sso.service';
import { SignedEmbedDto, SsoJwtDto } from './dto/sso-answers.dto';
import { SsoRepository, TargetWithAccess } from './sso.repository';
import { targetDefinition } from '../products';
import { SsoError } from '../catalog/sso.errors';
import { JsonTokenService } from './json-token.service';

/** What a guest-token request (GET or POST) can be refused with. */
const GUEST_TOKEN_ERRORS = {
  400: 'A malformed id, the target takes no guest tokens here, or an attribute a row-level security rule needs is missing or no SQL value',
  401: 'Without a session',
  403: 'Target disabled, no access, a resource the access does not allow, account disabled, or an origin not allowed',
  429: 'Too many handshakes from this session (Retry-After)',
  502: "The product's token service failed (the message names the step)",
};

/**
 * Embedding for the signed-in user, by capability of the target's product:
 * - `GET /embed/<target>/<kind>/<id>`: a signed embed (redirect to the iframe URL, or
 *   `{url, expiresAt}` with ?response=json);
 * - `POST /embed/<target>/guest-token`: a guest-embed token for the product's embed script;
 * - `GET /embed/<target>/<kind>/<id>/token`: a token broker's answer (e.g. a dashboard token);
 *   `GET|POST /embed/<target>/<kind>/<id>/guest-token` for a broker whose SDK calls back;
 * - `GET /embed/<target>/token`: a token we sign for the product's SDK (`{token, expiresAt}`);
 * - `GET /embed/<target>/<resource>/<path>` for a product whose URL carries our token (a
 *   token link): a redirect there, or `{url, expiresAt}` with ?response=json.
 * The JSON answers serve browser SDKs on allow-listed origins, with credentials.
 */
@ApiTags('sso')
@Controller('embed')
export class EmbedController {
  constructor(
    private readonly sso: SsoService,
    private readonly embeds: EmbedService,
    private readonly brokers: BrokerService,
    private readonly store: SsoRepository,
    private readonly tokens: JsonTokenService,
  ) {}

  @Get(':target/token')
  @LoadsSession()
  @Responds({
    200: {
      description: "A token for the product's browser SDK (e.g. Tableau's `<tableau-viz token>`), minted for this request",
      schema: { type: 'object', required: ['token', 'expiresAt'], properties: { token: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } }, additionalProperties: true },
    },
  })
  @ApiErrors({
    400: 'The target\'s product takes no token from this endpoint',
    401: 'Without a session',
    403: 'Target disabled, no access for this tenant, account disabled, or an origin not allowed',
    409: 'The email belongs to another tenant on this BI tool, or the target has no secret configured',
    429: 'Too many handshakes from this session (Retry-After)',
  })
  async jsonToken(
    @Param('target') slug: string,
    @CurrentSession() session: SessionContext | null,
    @Req() req: AuthenticatedRequest,
    @Res() res: Response,
  ): Promise<void> {
    const meta = requestMeta(req);
    const loaded = await this.sso.requireTarget(slug, session, meta, { flow: 'token' });
    await this.cors(req, res, loaded, session, 'token');
    send(res, { kind: 'json', body: await this.tokens.json({ loaded, session, cookie: req.cookies?.[SESSION_COOKIE], meta }) });
  }

  @Options(':target/token')
  @Public()
  @Responds({ 204: 'The origin is allowed (CORS headers set)' })
  @ApiErrors({ 403: 'The origin is not in the target\'s allowedOrigins' })
  async tokenPreflight(@Param('target') slug: string, @Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    await this.answerPreflight(slug, req, res, ['GET']);
  }

  @Get(':target/:kind/:id')
  @LoadsSession()
  @ApiQuery({ name: 'response', required: false, enum: ['json'], description: '`json`: answer `{url, expiresAt}`, or a 401 without a session' })
  @Responds({
    302: "To the BI tool's signed embed URL, or to the login page without a session",
    200: { description: '`?response=json` with a session', type: SignedEmbedDto },
  })
  @ApiErrors({
    401: '`?response=json` without a session',
    403: 'Target disabled, no access for this tenant, account disabled, or an origin not allowed',
    429: 'Too many handshakes from this session (Retry-After)',
    409: 'The target has no embedding secret configured',
  })
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
    const loaded = await this.sso.requireTarget(slug, session, meta, { flow: 'embed' });
    const product = targetDefinition(loaded.target.kind);
    // A product whose own URL carries our token (a token link) rather than a signed embed.
    if (product?.token?.link && !product.embed) {
      if (json) await this.cors(req, res, loaded, session, 'token');
      send(res, await this.tokens.link({ loaded, resource: kind, path: id, json, query: req.query, session, cookie: req.cookies?.[SESSION_COOKIE], meta }));
      return;
    }
    if (json) await this.cors(req, res, loaded, session, 'embed');
    send(res, await this.embeds.issue({ loaded, kind, id, session, json, cookie: req.cookies?.[SESSION_COOKIE], meta }));
  }

  /** Metabase embed.js `guestEmbedProviderUri` (the product's contract, guest embeds): `{entityType, entityId}` -> `{jwt}`. */
  @Post(':target/guest-token')
  @HttpCode(200)
  @LoadsSession()
  @ApiBody({ schema: { type: 'object', required: ['entityType', 'entityId'], properties: { entityType: { type: 'string', example: 'dashboard' }, entityId: { oneOf: [{ type: 'integer', minimum: 1 }, { type: 'string' }], description: "As the product names it, e.g. Metabase's numeric id or 21-character entity ID", example: 'yqcdnPAMZvo3Dw0Snxa6s' } } } })
  @Responds({ 200: { description: 'A guest-embed token for embed.js', type: SsoJwtDto } })
  @ApiErrors({
    401: 'Without a session',
    403: 'Target disabled, no access, an entity the access does not list, account disabled, or an origin not allowed',
    429: 'Too many handshakes from this session (Retry-After)',
    409: 'The target has no embedding secret configured',
  })
  async guestToken(
    @Param('target') slug: string,
    @Body() body: unknown,
    @CurrentSession() session: SessionContext | null,
    @Req() req: AuthenticatedRequest,
    @Res() res: Response,
  ): Promise<void> {
    const meta = requestMeta(req);
    const loaded = await this.sso.requireTarget(slug, session, meta, { flow: 'embed' });
    await this.cors(req, res, loaded, session, 'embed');
    send(res, { kind: 'json', body: await this.embeds.guestToken({ loaded, body, session, cookie: req.cookies?.[SESSION_COOKIE], meta }) });
  }

  @Get(':target/:kind/:id/token')
  @LoadsSession()
  @Responds({ 200: { description: "The product's token for this resource (e.g. a Databricks dashboard token), as its SDK takes it", schema: { type: 'object', additionalProperties: true } } })
  @ApiErrors({
    401: 'Without a session',
    403: 'Target disabled, no access, a resource the access does not allow, account disabled, or an origin not allowed',
    429: 'Too many handshakes from this session (Retry-After)',
    502: "The product's token service failed (the message names the step)",
  })
  async brokerToken(
    @Param('target') slug: string,
    @Param('kind') kind: string,
    @Param('id') id: string,
    @CurrentSession() session: SessionContext | null,
    @Req() req: AuthenticatedRequest,
    @Res() res: Response,
  ): Promise<void> {
    await this.brokered(slug, kind, id, 'token', session, req, res);
  }

  /**
   * A broker whose SDK calls back for each token (Superset's `fetchGuestToken`): the same
   * answer as `/token`, to GET and to POST (the host page's callback may post; the body is
   * not read: the URL names the resource).
   */
  @Get(':target/:kind/:id/guest-token')
  @LoadsSession()
  @Responds({ 200: { description: "The product's guest token for this resource (e.g. a Superset guest token), as its SDK takes it: `{token}`", schema: { type: 'object', additionalProperties: true } } })
  @ApiErrors(GUEST_TOKEN_ERRORS)
  async brokerGuestToken(
    @Param('target') slug: string,
    @Param('kind') kind: string,
    @Param('id') id: string,
    @CurrentSession() session: SessionContext | null,
    @Req() req: AuthenticatedRequest,
    @Res() res: Response,
  ): Promise<void> {
    await this.brokered(slug, kind, id, 'guest-token', session, req, res);
  }

  /** A broker's token for one resource, through the endpoint its SDK calls. */
  private async brokered(slug: string, kind: string, id: string, endpoint: 'token' | 'guest-token', session: SessionContext | null, req: AuthenticatedRequest, res: Response): Promise<void> {
    const meta = requestMeta(req);
    const loaded = await this.sso.requireTarget(slug, session, meta, { flow: 'broker' });
    await this.cors(req, res, loaded, session, 'broker');
    const body = await this.brokers.issue({ loaded, kind, resourceId: id, endpoint, session, cookie: req.cookies?.[SESSION_COOKIE], meta });
    send(res, { kind: 'json', body });
  }

  @Post(':target/:kind/:id/guest-token')
  @HttpCode(200)
  @LoadsSession()
  @Responds({ 200: { description: 'As GET, for an SDK callback that posts', schema: { type: 'object', additionalProperties: true } } })
  @ApiErrors(GUEST_TOKEN_ERRORS)
  async brokerGuestTokenPost(
    @Param('target') slug: string,
    @Param('kind') kind: string,
    @Param('id') id: string,
    @CurrentSession() session: SessionContext | null,
    @Req() req: AuthenticatedRequest,
    @Res() res: Response,
  ): Promise<void> {
    await this.brokered(slug, kind, id, 'guest-token', session, req, res);
  }

  @Options(':target/:kind/:id/guest-token')
  @Public()
  @Responds({ 204: 'The origin is allowed (CORS headers set)' })
  @ApiErrors({ 403: 'The origin is not in the target\'s allowedOrigins' })
  async brokerGuestPreflight(@Param('target') slug: string, @Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    await this.answerPreflight(slug, req, res, ['GET', 'POST']);
  }

  @Options(':target/:kind/:id')
  @Public()
  @Responds({ 204: 'The origin is allowed (CORS headers set)' })
  @ApiErrors({ 403: 'The origin is not in the target\'s allowedOrigins' })
  async preflight(@Param('target') slug: string, @Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    await this.answerPreflight(slug, req, res, ['GET']);
  }

  @Options(':target/guest-token')
  @Public()
  @Responds({ 204: 'The origin is allowed (CORS headers set)' })
  @ApiErrors({ 403: 'The origin is not in the target\'s allowedOrigins' })
  async guestPreflight(@Param('target') slug: string, @Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    await this.answerPreflight(slug, req, res, ['POST']);
  }

  @Options(':target/:kind/:id/token')
  @Public()
  @Responds({ 204: 'The origin is allowed (CORS headers set)' })
  @ApiErrors({ 403: 'The origin is not in the target\'s allowedOrigins' })
  async brokerPreflight(@Param('target') slug: string, @Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    await this.answerPreflight(slug, req, res, ['GET']);
  }

  /**
   * A token link whose path has several segments (e.g. Looker's `dashboards/7`,
   * `explore/<model>/<view>`): as `GET /embed/<target>/<resource>/<path>` above. Declared after
   * the fixed-length routes, which keep their paths.
   */
  @Get(':target/:kind/*path')
  @LoadsSession()
  @ApiQuery({ name: 'response', required: false, enum: ['json'], description: '`json`: answer `{url, expiresAt}`, or a 401 without a session' })
  @Responds({
    302: "To the BI tool's signed URL, or to the login page without a session",
    200: { description: '`?response=json` with a session', type: SignedEmbedDto },
  })
  @ApiErrors({
    400: 'A path the product does not embed, or a query parameter it refuses',
    401: '`?response=json` without a session',
    403: 'Target disabled, no access for this tenant, account disabled, or an origin not allowed',
    429: 'Too many handshakes from this session (Retry-After)',
    409: 'The target has no secret configured',
  })
  async tokenLink(
    @Param('target') slug: string,
    @Param('kind') kind: string,
    @Param('path') path: string[] | string,
    @CurrentSession() session: SessionContext | null,
    @Req() req: AuthenticatedRequest,
    @Res() res: Response,
  ): Promise<void> {
    const json = req.query.response === 'json';
    const meta = requestMeta(req);
    const loaded = await this.sso.requireTarget(slug, session, meta, { flow: 'token' });
    if (json) await this.cors(req, res, loaded, session, 'token');
    const joined = Array.isArray(path) ? path.join('/') : String(path);
    send(res, await this.tokens.link({ loaded, resource: kind, path: joined, json, query: req.query, session, cookie: req.cookies?.[SESSION_COOKIE], meta }));
  }

  @Options(':target/:kind/*path')
  @Public()
  @Responds({ 204: 'The origin is allowed (CORS headers set)' })
  @ApiErrors({ 403: 'The origin is not in the target\'s allowedOrigins' })
  async tokenLinkPreflight(@Param('target') slug: string, @Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    await this.answerPreflight(slug, req, res, ['GET']);
  }

  /** Credentialed CORS for allow-listed origins only; a refused origin is audited and mints nothing. */
  private async cors(req: AuthenticatedRequest, res: Response, loaded: TargetWithAccess, session: SessionContext | null, flow: SsoFlow): Promise<void> {
    try {
      applyCors(req, res, loaded.target.settings);
    } catch (e) {
      await this.sso.auditRefusal(requestMeta(req), { flow, tenantId: session?.tenant.id ?? null, target: loaded.target.slug, reason: 'origin_not_allowed', details: { origin: req.headers.origin?.slice(0, 200) ?? null } });
      throw e;
    }
  }

  private async answerPreflight(slug: string, req: AuthenticatedRequest, res: Response, methods: string[]): Promise<void> {
    const loaded = await this.store.load(slug, null, null);
    if (!loaded || loaded.target.disabled) throw notFound(SsoError.TargetNotFound, { target: slug });
    answerPreflight(req, res, loaded.target.settings, { methods, requestHeaders: targetDefinition(loaded.target.kind)?.corsRequestHeaders });
  }
}
