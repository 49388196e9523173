import { Injectable, Logger } from '@nestjs/common';
import { parse as parseCookies } from 'cookie';
import { JSONCookie } from 'cookie-parser';
import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { SessionContext } from '../auth/auth.types';
import { LOGIN_BODY_LIMIT } from '../auth/login/login-form';
import { SessionsService } from '../auth/sessions.service';
import { wireCookieName } from '../common/cookie-names';
import { isSlug } from '../common/identifiers';
import { assignRequestId } from '../common/logging';
import type { RequestMeta } from '../common/request-meta';
import { SESSION_COOKIE } from '../common/route-protection';
import { flowHeaders } from '../common/security-headers';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { ShutdownState } from '../health/shutdown';
import { handOver, markBodyRead } from '../inbound/handoff-request';
import { HandoffMeta, HandoffService } from '../inbound/handoff.service';
import { MetricsService } from '../metrics/metrics.service';
import { parseSsoQuery, SsoQuery } from './return-to';
import { corsAudited, sendRedirect } from './sso.controller';
import { SsoRepository, TargetWithAccess } from './sso.repository';
import { SsoService } from './sso.service';

/** `POST /sso/<slug>` (query string allowed), as a host page's form posts it. */
export const HANDOFF_URL = /^\/sso\/([a-z0-9-]+)(?:\?|$)/;
/** The route label of the hand-off in the request metrics (Express's pattern). */
const ROUTE = '/sso/:target';
/** A form, in UTF-8 (body-parser's default charset): anything else goes to body-parser. */
const FORM = /^application\/x-www-form-urlencoded\s*(?:;\s*charset="?utf-8"?\s*)?$/i;
/** The fields the fast path takes; any other (`response=json` …) goes to the full pipeline. */
const FIELDS = new Set(['assertion', 'return_to']);

/** LOGIN_BODY_LIMIT ('20kb', bytes' notation as body-parser reads it) in bytes. */
function limitBytes(limit: string): number {
  const m = /^(\d+)kb$/i.exec(limit);
  if (!m) throw new Error(`LOGIN_BODY_LIMIT ${limit}: the hand-off fast path reads only "<n>kb"`);
  return Number(m[1]) * 1024;
}
const BODY_LIMIT = limitBytes(LOGIN_BODY_LIMIT);

/**
 * The host-app hand-off (`POST /sso/<target>`, README "Host-app hand-off") answered before
 * Express and Nest, as sso-fast-path.ts answers the handshake: the framework pipeline (router,
 * body parsers, request log, guard, pipes, filter) cost more CPU than the hand-off itself.
 *
 * What it takes, decided from the headers before a byte of the body is read (anything else
 * goes to Express untouched): a form post (FORM) with a Content-Length within the form
 * parser's own limit (LOGIN_BODY_LIMIT), no Transfer-Encoding or Content-Encoding, no
 * `response` or `assertion` in the URL, a process that is not draining. SsoFastPath.install
 * routes it here (one listener intercepts the server's requests) and is off with the
 * `app.ssoFastPath` switch and at a debug log level, as it is.
 *
 * The body is then read (bounded by that Content-Length) and split by hand: only
 * `assertion` and `return_to`, each once, each decoding as UTF-8 percent-encoding. Where
 * those hold, this split and body-parser's (qs, `extended: false`) give the same strings;
 * where they do not (another field, a repeated one, a sequence qs would leave undecoded, a
 * BOM), the request goes to Express with the bytes read (markBodyRead): bootstrap.ts's form
 * parser reads them from a replay (replayedBody), so the full pipeline parses them with its
 * own parser, rules and errors, as if nothing had read them before.
 *
 * Then the SAME calls as SsoController.handshakeWithPostedAssertion, in the same order:
 * HandoffService.admit (its precheck: SsoService.precheckHandoff with the controller's CORS
 * check), the session cookie (SessionsService.cookieHeader: the bytes res.cookie writes), the
 * handshake (SsoService.handshake, reusing the precheck's read unless the groups changed).
 *
 * Refusals: the assertion's jti is consumed by admit, so handing a refused request to the full
 * pipeline to run again would answer a replay. Nor can every refusal be decided before the
 * consume (the user's lookup shares the consume's statement; the handshake's identity record
 * comes after the session). So the fast path hands the full pipeline its OUTCOME: any error
 * admit, the precheck or the handshake throws (a refusal, already audited by the service that
 * refused, exactly once; or a Postgres error) is put on the request (handOver) with the new
 * session if one opened (its Set-Cookie already on the response, as the controller sets it
 * before the handshake), and the request goes to Express. The controller, first thing,
 * rethrows it: the filter renders it as for any request — the same status, error page or
 * JSON body, headers, request log line and metric. Nothing is run twice.
 *
 * A success: the flow surface's security headers (flowHeaders, as the SSO fast path), the
 * request id, Cache-Control: no-store, the cookie, the 302 (sendRedirect), the request metric.
 * Every request it takes is counted (`embed_idp_handoff_fast_path_total{outcome}`).
 */
@Injectable()
export class HandoffFastPath {
  private readonly log = new Logger(HandoffFastPath.name);
  private readonly headers: [string, string][];
  /** `__Host-eidp_session` over https, as hostPrefixedCookies maps it for Express. */
  private readonly sessionCookie: string;

  constructor(
    private readonly handoff: HandoffService,
    private readonly sso: SsoService,
    private readonly store: SsoRepository,
    private readonly sessions: SessionsService,
    private readonly metrics: MetricsService,
    private readonly shutdown: ShutdownState,
    @InjectConfig('app') app: Config<'app'>,
  ) {
    this.headers = flowHeaders({ https: app.publicUrl.startsWith('https:') });
    this.sessionCookie = wireCookieName(SESSION_COOKIE, app.secureCookies);
  }

  /** The request, from its headers alone, is one this path takes (nothing read yet). */
  takes(req: IncomingMessage): boolean {
    const url = req.url ?? '';
    const m = HANDOFF_URL.exec(url);
    if (!m || !isSlug(m[1]) || this.shutdown.draining) return false;
    const h = req.headers;
    if (h['transfer-encoding'] !== undefined || h['content-encoding'] !== undefined) return false;
    if (!FORM.test(h['content-type'] ?? '')) return false;
    const length = h['content-length'];
    if (length === undefined || !/^\d{1,6}$/.test(length) || Number(length) > BODY_LIMIT) return false;
    const query = parseSsoQuery(url);
    return query.response === undefined && query.assertion === undefined;
  }

  /**
   * Runs a request `takes` accepted; `next` hands it to Express (after markBodyRead /
   * handOver, as the header comment says).
   */
  async handle(req: IncomingMessage, res: ServerResponse, trust: Parameters<typeof proxyaddr>[1], next: () => void): Promise<void> {
    const body = await readBody(req, Number(req.headers['content-length']));
    // The client went away mid-body: nobody to answer.
    if (!body) return void res.destroy();
    markBodyRead(req, body);
    const fields = splitForm(body);
    if (!fields) {
      this.metrics.handoffFastPathOutcome('body');
      return next();
    }
    const timer = this.metrics.httpTimer();
    const url = req.url ?? '';
    const slug = HANDOFF_URL.exec(url)![1];
    const fromUrl = parseSsoQuery(url);
    const query: SsoQuery = { ...fromUrl, returnTo: fields.return_to ?? fromUrl.returnTo };
    const requestId = assignRequestId(req, res);
    const ip = proxyaddr(req, trust);
    const handoffMeta: HandoffMeta = { actor: 'anonymous', ip, requestId, userAgent: req.headers['user-agent'] ?? null };
    // requestMeta(req) as the controller's calls see it: anonymous (a public route) until the session opens.
    const anonymous: RequestMeta = { actor: 'anonymous', ip, requestId };
    // As cookie-parser reads it for the controller: a `j:` value replaced by its JSON when that
    // parses (and is truthy), so the session it names is revoked on both paths alike.
    const raw = req.headers.cookie ? parseCookies(req.headers.cookie)[this.sessionCookie] : undefined;
    const previousCookie = ((raw !== undefined && JSONCookie(raw)) || raw) as string | undefined;
    let session: SessionContext | null = null;
    try {
      let prechecked: TargetWithAccess | undefined;
      const admitted = await this.handoff.admit({
        assertion: fields.assertion,
        meta: handoffMeta,
        previousCookie,
        target: slug,
        precheck: async (who) => {
          prechecked = await this.sso.precheckHandoff(slug, who, query.returnTo, false, anonymous, (loaded) =>
            corsAudited(this.sso, () => anonymous, req, res, loaded, who.tenant.id, slug, 'handoff'),
          );
        },
      });
      session = admitted.session;
      res.appendHeader('Set-Cookie', this.sessions.cookieHeader(admitted.token));
      const loaded = admitted.groupsChanged ? await this.store.load(slug, session.tenant.id, session.user.id) : prechecked;
      const meta: RequestMeta = { actor: `user:${session.user.id}`, ip, requestId };
      const outcome = await this.sso.handshake({
        slug,
        loaded: loaded ?? null,
        session,
        query,
        json: false,
        cookie: previousCookie,
        meta,
        checkOrigin: () => corsAudited(this.sso, () => meta, req, res, loaded!, session!.tenant.id, slug, 'sso'),
      });
      if (outcome.kind !== 'redirect') throw new Error('a browser hand-off answered JSON');
      for (const [name, value] of this.headers) res.setHeader(name, value);
      sendRedirect(res, outcome.url);
      timer({ method: 'POST', route: ROUTE, status: '302' });
      this.metrics.handoffFastPathOutcome('answered');
    } catch (err) {
      if (res.headersSent) {
        this.log.error(`hand-off fast path failed after answering: ${(err as Error).message}`);
        return;
      }
      this.metrics.handoffFastPathOutcome('handed_over');
      handOver(req, { error: err, session });
      next();
    }
  }
}

/** The whole body (exactly `length` bytes), or null when the request ended early or failed. */
function readBody(req: IncomingMessage, length: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (body: Buffer | null) => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onFail);
      req.removeListener('close', onFail);
      resolve(body);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      // Node's parser stops at Content-Length; more would be a bug to refuse, not to read.
      if (size > length) return done(null);
      chunks.push(chunk);
    };
    const onEnd = () => done(size === length ? Buffer.concat(chunks, size) : null);
    const onFail = () => done(null);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onFail);
    req.once('close', onFail);
  });
}

/**
 * `assertion=..&return_to=..` (either order, return_to optional), each once and each
 * decodable; null for anything else (the full pipeline's parser then reads it).
 */
export function splitForm(body: Buffer): { assertion: string; return_to?: string } | null {
  const text = body.toString('latin1');
  // What a browser sends: printable ASCII only (bytes beyond it are percent-encoded). A raw
  // byte outside it (a BOM, which body-parser's decoder strips; invalid UTF-8) goes to body-parser.
  if (/[^\x21-\x7e]/.test(text)) return null;
  const out: Record<string, string> = {};
  for (const part of text.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    const key = decode(part.slice(0, eq));
    const value = decode(part.slice(eq + 1));
    if (key === null || value === null || !FIELDS.has(key) || key in out) return null;
    out[key] = value;
  }
  if (out.assertion === undefined) return null;
  return out as { assertion: string; return_to?: string };
}

/** As qs decodes a form value ('+' is a space), or null where qs would keep it undecoded. */
function decode(s: string): string | null {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}
