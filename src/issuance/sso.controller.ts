import { Controller, Get, Options, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestMeta } from '../common/request-meta';
import { AuthenticatedRequest, CurrentSession } from '../auth/auth.decorators';
import { Public, LoadsSession, SESSION_COOKIE } from '../common/route-protection';
import type { SessionContext } from '../auth/auth.types';
import { SessionsService } from '../auth/sessions.service';
import { notFound } from '../common/errors';
import { ApiErrors, Responds } from '../common/openapi';
import { requestMeta } from '../common/request-meta';
import { answerPreflight, applyCors } from './cors';
import { loggedOutPage, sendPage } from '../auth/login/pages';
import { RemoteLogoutService } from './remote-logout.service';
import { handedOver, handoffMeta, postedAssertion } from '../inbound/handoff-request';
import { HandoffService } from '../inbound/handoff.service';
import { parseSsoQuery, SsoQuery } from './return-to';
import { SsoFlow, SsoOutcome, SsoService } from './sso.service';
import { SsoRepository, TargetWithAccess } from './sso.repository';
import { SsoJwtDto } from './dto/sso-answers.dto';
import { targetDefinition } from '../products';
import { SsoError } from '../catalog/sso.errors';

/**
 * The BI products' identity provider URL: `<PUBLIC_URL>/sso/<target>` is what an operator
 * enters as Metabase's "JWT Identity Provider URI" (or Sisense's Remote Login URL).
 * `GET /sso/<target>/logout` (Sisense's Remote Logout URL) lives here too. With an
 * `assertion` (GET, or POST as a form) a host app hands its signed-in user over first.
 */
@ApiTags('sso')
@Controller('sso')
export class SsoController {
  constructor(
    private readonly sso: SsoService,
    private readonly store: SsoRepository,
    private readonly remoteLogout: RemoteLogoutService,
    private readonly sessions: SessionsService,
    private readonly handoff: HandoffService,
  ) {}

  @Get(':target')
  @LoadsSession()
  // Read from the raw URL by parseSsoQuery (return-to.ts), not bound by Nest: declared here.
  @ApiQuery({ name: 'return_to', type: String, required: false, description: "Where on the BI tool to land (a path or a URL on the tool's own site)" })
  @ApiQuery({ name: 'response', required: false, enum: ['json'], description: '`json`: answer `{jwt}` (Metabase Embedding SDK), or a 401 without a session' })
  @ApiQuery({ name: 'tenant', type: String, required: false, description: "Presets the organization on the login page (an operator's IdP URI may carry it)" })
  @ApiQuery({ name: 'assertion', type: String, required: false, description: "A host app's signed hand-off (HS256 JWT, iss = the tenant slug): signs its user in first, then the handshake (README \"Host-app hand-off\")" })
  @Responds({
    302: 'To the BI tool with a token (to return_to), or to the login page without a session',
    200: { description: '`?response=json` with a session: the token for the Embedding SDK', type: SsoJwtDto },
  })
  @ApiErrors({
    401: '`?response=json` without a session; a hand-off assertion not signed by the tenant it names, expired, or already used',
    403: 'Target disabled, no access for this tenant, account disabled, an origin not allowed, or a hand-off for an unknown user with JIT off',
    409: 'The email belongs to another tenant on this BI tool, or the target has no secret configured',
    429: 'Too many handshakes from this session (Retry-After), or Sisense: the iat sequence is ahead of the clock',
  })
  async handshake(
    @Param('target') slug: string,
    @CurrentSession() session: SessionContext | null,
    @Req() req: AuthenticatedRequest,
    @Res() res: Response,
  ): Promise<void> {
    // return_to is rebuilt from the raw URL: Metabase does not encode it (see return-to.ts).
    const query = parseSsoQuery(req.originalUrl);
    if (query.assertion === undefined) return this.continueHandshake(slug, session, query, req, res);
    const handedOff = await this.handoffStep(slug, query.assertion, query, req, res);
    await this.continueHandshake(slug, handedOff.session, query, req, res, handedOff.loaded);
  }

  /**
   * A host-app hand-off as a form post (fields `assertion`, `return_to`; `response=json` in
   * the URL for JSON): a host page auto-submits it, keeping the assertion out of URLs, logs
   * and Referer headers. Then the handshake, exactly as GET.
   *
   * Public, and CSRF-safe by construction, with no CSRF token: the only credential is the
   * assertion itself, HS256-signed by the host app and accepted once (src/inbound). A
   * cross-site page cannot forge one and cannot reuse one; no cookie is trusted here (the
   * one the browser brings is only revoked).
   */
  @Post(':target')
  @Public()
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['assertion'],
      properties: {
        assertion: { type: 'string', description: "The host app's signed hand-off (HS256 JWT, iss = the tenant slug)" },
        return_to: { type: 'string', description: "Where on the BI tool to land (a path or a URL on the tool's own site)" },
        response: { type: 'string', enum: ['json'], description: '`json`: answer `{jwt}` (Metabase Embedding SDK)' },
      },
    },
  })
  @Responds({
    302: 'Signed in (the session cookie set): to the BI tool with a token, to return_to',
    200: { description: '`response=json`: signed in, and the token for the Embedding SDK', type: SsoJwtDto },
  })
  @ApiErrors({
    401: 'The assertion is not signed by the tenant it names, expired, or already used',
    403: 'Target disabled, no access for this tenant, account disabled, an origin not allowed, or an unknown user with JIT off',
    409: 'The email belongs to another tenant on this BI tool, or the target has no secret configured',
    429: 'Too many handshakes from this session (Retry-After), or Sisense: the iat sequence is ahead of the clock',
  })
  async handshakeWithPostedAssertion(@Param('target') slug: string, @Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    // The hand-off fast path already ran this hand-off (its assertion is spent) and it ended
    // in a refusal or an error: answered here as this handler would have answered it.
    const settled = handedOver(req);
    if (settled) {
      if (settled.session) req.sessionContext = settled.session;
      throw settled.error;
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const fromUrl = parseSsoQuery(req.originalUrl);
    const field = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const query: SsoQuery = { ...fromUrl, returnTo: field(body.return_to) ?? fromUrl.returnTo, response: field(body.response) ?? fromUrl.response };
    const handedOff = await this.handoffStep(slug, postedAssertion(req), query, req, res);
    await this.continueHandshake(slug, handedOff.session, query, req, res, handedOff.loaded);
  }

  /**
   * The hand-off pre-step: a valid assertion becomes a session (the cookie set, the old
   * session revoked), as a form login would; what follows is the normal handshake.
   */
  private async handoffStep(slug: string, assertion: unknown, query: SsoQuery, req: AuthenticatedRequest, res: Response): Promise<{ session: SessionContext; loaded: TargetWithAccess | undefined }> {
    const json = query.response === 'json';
    let prechecked: TargetWithAccess | undefined;
    const { token, session, groupsChanged } = await this.handoff.admit({
      assertion,
      meta: handoffMeta(req),
      previousCookie: req.cookies?.[SESSION_COOKIE],
      target: slug,
      precheck: async (who) => {
        prechecked = await this.sso.precheckHandoff(slug, who, query.returnTo, json, requestMeta(req), (loaded) => this.cors(req, res, loaded, who.tenant.id, slug, 'handoff'));
      },
    });
    this.sessions.setCookie(res, token);
    req.sessionContext = session;
    // The precheck read the target with this user's groups: still what the handshake needs
    // unless the hand-off created the user or replaced their groups since.
    return { session, loaded: groupsChanged ? undefined : prechecked };
  }

  private async continueHandshake(slug: string, session: SessionContext | null, query: SsoQuery, req: AuthenticatedRequest, res: Response, read?: TargetWithAccess): Promise<void> {
    const json = query.response === 'json';
    const meta = requestMeta(req);
    const loaded = read ?? (await this.store.load(slug, session?.tenant.id ?? null, session?.user.id ?? null));
    const checkOrigin = () => this.cors(req, res, loaded!, session?.tenant.id ?? null, slug, 'sso');
    const outcome = await this.sso.handshake({ slug, loaded, session, query, json, cookie: req.cookies?.[SESSION_COOKIE], meta, checkOrigin });
    send(res, outcome);
  }

  private cors(req: AuthenticatedRequest, res: Response, loaded: TargetWithAccess, tenantId: string | null, slug: string, flow: SsoFlow): Promise<void> {
    return corsAudited(this.sso, () => requestMeta(req), req, res, loaded, tenantId, slug, flow);
  }

  /**
   * Sisense's Remote Logout URL: Sisense sends the browser here after its own logout. Ends our
   * session (else the next Sisense visit signs the user straight back in), then the target's
   * logout landing page or our signed-out page.
   */
  @Get(':target/logout')
  @LoadsSession()
  @Responds({
    302: "To the target's logout landing page (or our signed-out page)",
    200: { description: 'Our signed-out page (HTML), ending the other BI tools this session used', content: { 'text/html': { schema: { type: 'string' } } } },
  })
  async logout(@Param('target') slug: string, @Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const { next, otherBiLogoutUrls } = await this.remoteLogout.end(slug, req.cookies?.[SESSION_COOKIE], requestMeta(req));
    this.sessions.clearCookie(res);
    if (!otherBiLogoutUrls.length) return send(res, { kind: 'redirect', url: next });
    // Other BI tools this session signed in to: our signed-out page ends them (hidden
    // iframes), then moves on to where Sisense's logout should land.
    sendPage(res, 200, loggedOutPage({ biLogoutUrls: otherBiLogoutUrls, continueTo: next, loginHref: next }), {
      frameOrigins: [...new Set(otherBiLogoutUrls.map((u) => new URL(u).origin))],
    });
  }

  /** CORS preflight for the Embedding SDK's credentialed fetch (no cookies are sent on it). */
  @Options(':target')
  @Public()
  @Responds({ 204: 'The origin is allowed (CORS headers set)' })
  @ApiErrors({ 403: 'The origin is not in the target\'s allowedOrigins' })
  async preflight(@Param('target') slug: string, @Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const loaded = await this.store.load(slug, null, null);
    if (!loaded || loaded.target.disabled) throw notFound(SsoError.TargetNotFound, { target: slug });
    answerPreflight(req, res, loaded.target.settings, { requestHeaders: targetDefinition(loaded.target.kind)?.corsRequestHeaders });
  }
}

/**
 * CORS for an SSO answer (cors.ts); an origin that is not allowed is audited as the flow's
 * refusal, then thrown. Shared with the hand-off fast path, which answers before Express.
 */
export async function corsAudited(
  sso: Pick<SsoService, 'auditRefusal'>,
  meta: () => RequestMeta,
  req: IncomingMessage,
  res: ServerResponse,
  loaded: TargetWithAccess,
  tenantId: string | null,
  slug: string,
  flow: SsoFlow,
): Promise<void> {
  try {
    applyCors(req, res, loaded.target.settings);
  } catch (e) {
    const origin = req.headers.origin;
    await sso.auditRefusal(meta(), { flow, tenantId, target: slug, reason: 'origin_not_allowed', details: { origin: origin?.slice(0, 200) ?? null } });
    throw e;
  }
}

/** Token-bearing answers are never cached, by the browser or anything in between. */
export function send(res: Response, outcome: SsoOutcome): void {
  res.setHeader('Cache-Control', 'no-store');
  if (outcome.kind === 'json') {
    res.status(200).json(outcome.body);
    return;
  }
  sendRedirect(res, outcome.url);
}

/**
 * The 302 of a handshake, with Node's own response API (the SSO fast path answers before
 * Express). Location set directly (the URLs are built encoded): res.redirect would re-encode
 * and negotiate a body nobody reads.
 */
export function sendRedirect(res: ServerResponse, url: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.statusCode = 302;
  res.setHeader('Location', url);
  res.end();
}
