import { Injectable, Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { parse as parseCookies } from 'cookie';
import type { Application } from 'express';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { SessionsService } from '../auth/sessions.service';
import { SESSION_COOKIE } from '../common/route-protection';
import { wireCookieName } from '../common/cookie-names';
import { isSlug } from '../common/identifiers';
import { assignRequestId } from '../common/logging';
import { flowHeaders } from '../common/security-headers';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { ShutdownState } from '../health/shutdown';
import { MetricsService } from '../metrics/metrics.service';
import { parseSsoQuery } from './return-to';
import proxyaddr from 'proxy-addr';
import { sendRedirect } from './sso.controller';
import { SsoRepository } from './sso.repository';
import { RefusalDeferred, SsoService } from './sso.service';
import { HandshakeLimiter, TooManyHandshakes } from './handshake-limit';
import { HandoffFastPath } from './handoff-fast-path';

/** `GET /sso/<slug>` or `GET /sso/<slug>?...`, as the BI tools send it (nothing else). */
const HANDSHAKE_URL = /^\/sso\/([a-z0-9-]+)(?:\?|$)/;
/** The route label of the SSO handshake in the request metrics (Express's pattern). */
const ROUTE = '/sso/:target';

/** At most one warning per this many ms about the fast path's errors (each is also counted). */
const ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * The SSO handshake that succeeds, answered before Express and Nest: measured on this machine, the framework pipeline — the
 * middleware chain, routing, guard, pipes, filters — cost more CPU than the handshake itself.
 *
 * It handles only a browser's `GET /sso/<slug>` with a live session, and only up to the point
 * where the handshake succeeds, through the same services: one read gets the session (the
 * sessions module's own lookup, liveSessionsSql) with the target (SsoRepository
 * .loadWithSession), then SsoService checks and mints as for any handshake. The response is
 * the same: the flow surface's security headers (computed once from the same helmet
 * settings), the request id, `Cache-Control: no-store`, the 302, the request metric; the
 * client IP by Express's own `trust proxy` function.
 *
 * Anything else — another method or path, a hand-off assertion, `response=json`, no session,
 * a draining process, a debug log level (pino-http logs each request there) — goes to Express
 * untouched. So does every refusal: the handshake is asked to defer refusals
 * (RequestMeta.deferRefusals), which it does before auditing or writing anything, and the
 * full pipeline then handles the request from the start and refuses it as always. An error (a
 * Postgres outage) goes the same way: the full pipeline answers it (503). A token is only
 * sent after its record committed.
 *
 * A host-app hand-off (`POST /sso/<slug>` as a form) is answered before Express too, by
 * HandoffFastPath (handoff-fast-path.ts), which this class's install routes it to: one
 * listener intercepts the server's requests, and the same switch and log-level rule turn
 * both off. Its refusals cannot be left to the full pipeline to run again (the assertion is
 * spent by then): that file's header says how it hands them over.
 *
 * Every hand-over after the session cookie was read is counted
 * (`embed_idp_sso_fast_path_fallbacks_total{reason}`), and an error is logged (a warning
 * every ERROR_LOG_INTERVAL_MS at most, with how many there were): a fast path that fails on
 * every request still answers correctly through the full pipeline, and so would otherwise
 * lose its speed without anyone noticing.
 */
@Injectable()
export class SsoFastPath {
  private readonly log = new Logger(SsoFastPath.name);
  private readonly headers: [string, string][];
  private readonly enabled: boolean;
  /** `__Host-eidp_session` over https, as hostPrefixedCookies maps it for Express. */
  private readonly sessionCookie: string;
  private errorsSinceLog = 0;
  private lastErrorLog = 0;

  constructor(
    private readonly store: SsoRepository,
    private readonly sso: SsoService,
    private readonly metrics: MetricsService,
    private readonly shutdown: ShutdownState,
    private readonly limiter: HandshakeLimiter,
    private readonly handoff: HandoffFastPath,
    @InjectConfig('app') app: Config<'app'>,
  ) {
    this.headers = flowHeaders({ https: app.publicUrl.startsWith('https:') });
    this.sessionCookie = wireCookieName(SESSION_COOKIE, app.secureCookies);
    // pino-http logs every request at debug (3xx) and trace: there, everything goes through it.
    this.enabled = app.ssoFastPath && !['debug', 'trace'].includes(app.logLevel);
  }

  /** Puts the fast paths (this handshake's, the hand-off's) in front of Express on the app's HTTP server (main.ts and the HTTP specs alike). */
  install(app: NestExpressApplication): void {
    if (!this.enabled) return;
    const server = app.getHttpServer() as Server;
    // Express's compiled `trust proxy` setting, so req.ip is computed exactly as Express does.
    const trust = (app.getHttpAdapter().getInstance() as Application).get('trust proxy fn') as Parameters<typeof proxyaddr>[1];
    const [handler] = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
    server.removeListener('request', handler);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      // A host-app hand-off (handoff-fast-path.ts): its own conditions, its own fall-backs.
      if (req.method === 'POST') {
        if (!this.handoff.takes(req)) return handler(req, res);
        this.handoff.handle(req, res, trust, () => handler(req, res)).catch((err: Error) => {
          // Its own failures are handed to Express; this is a bug, answered without a body.
          this.log.error(`hand-off fast path failed: ${err.message}`);
          if (!res.headersSent) res.statusCode = 500;
          res.end();
        });
        return;
      }
      if (req.method !== 'GET' || !HANDSHAKE_URL.test(req.url ?? '')) return handler(req, res);
      void this.handle(req, res, trust).then((answered) => {
        if (!answered) handler(req, res);
      });
    });
  }

  /** True when it answered; false to let the full pipeline handle the request. */
  private async handle(req: IncomingMessage, res: ServerResponse, trust: Parameters<typeof proxyaddr>[1]): Promise<boolean> {
    const slug = HANDSHAKE_URL.exec(req.url ?? '')![1];
    const query = parseSsoQuery(req.url ?? '');
    if (!isSlug(slug) || query.assertion !== undefined || query.response !== undefined || this.shutdown.draining) return false;
    // As cookie-parser reads it (a `j:` JSON cookie is no session token either way).
    const cookie = req.headers.cookie ? parseCookies(req.headers.cookie)[this.sessionCookie] : undefined;
    if (cookie === undefined) return false;
    const sessionId = SessionsService.idFromCookie(cookie);
    if (!sessionId) return false;
    const timer = this.metrics.httpTimer();
    // The session's handshake rate, before any database round trip. The refusal the audit
    // log should get goes to the full pipeline (which reads the session and writes it); the
    // others are answered here, costing nothing but this lookup.
    const wait = this.limiter.take(sessionId);
    if (wait > 0) {
      if (this.limiter.auditDue(sessionId)) return this.fallback('refusal');
      this.limiter.refusal(sessionId);
      this.tooMany(req, res, wait);
      timer({ method: 'GET', route: ROUTE, status: '429' });
      return true;
    }
    // From here the request has its handshake: if the full pipeline takes it over (a deferred
    // refusal), it must not spend a second one (requestMeta reads this mark).
    (req as { handshakeCharged?: boolean }).handshakeCharged = true;
    try {
      const found = await this.store.loadWithSession(sessionId, slug);
      if (!found) return this.fallback('no_session');
      const { session } = found;
      const requestId = assignRequestId(req, res);
      const meta = { actor: `user:${session.user.id}`, ip: proxyaddr(req, trust), requestId, deferRefusals: true, handshakeCharged: true };
      const outcome = await this.sso.handshake({ slug, loaded: found.loaded, session, query, json: false, cookie, meta });
      if (outcome.kind !== 'redirect') throw new Error('a browser handshake answered JSON');
      for (const [name, value] of this.headers) res.setHeader(name, value);
      sendRedirect(res, outcome.url);
      timer({ method: 'GET', route: ROUTE, status: '302' });
      return true;
    } catch (err) {
      // A deferred refusal, or an error before anything was sent: the full pipeline answers.
      if (res.headersSent) {
        this.log.error(`fast path failed after answering: ${(err as Error).message}`);
        return true;
      }
      // A per-session limit whose refusal is not to be written: answered here.
      if (err instanceof TooManyHandshakes) {
        this.tooMany(req, res, err.retryAfterSeconds);
        timer({ method: 'GET', route: ROUTE, status: '429' });
        return true;
      }
      if (err instanceof RefusalDeferred) return this.fallback('refusal');
      return this.fallback('error', err as Error);
    }
  }

  /** Counts (and for an error, logs) a hand-over to the full pipeline; false, as handle answers then. */
  private fallback(reason: 'no_session' | 'refusal' | 'error', err?: Error): false {
    this.metrics.fastPathFallback(reason);
    if (reason === 'error') {
      this.errorsSinceLog++;
      const now = Date.now();
      if (now - this.lastErrorLog >= ERROR_LOG_INTERVAL_MS) {
        this.log.warn(`fast path handed ${this.errorsSinceLog} handshake(s) to the full pipeline after an error, the last: ${err?.message ?? 'unknown'}`);
        this.errorsSinceLog = 0;
        this.lastErrorLog = now;
      }
    }
    return false;
  }

  /** 429 with Retry-After (RFC 6585 §4), the flow's headers and one sentence. */
  private tooMany(req: IncomingMessage, res: ServerResponse, retryAfterSeconds: number): void {
    assignRequestId(req, res);
    for (const [name, value] of this.headers) res.setHeader(name, value);
    res.statusCode = 429;
    res.setHeader('Retry-After', String(retryAfterSeconds));
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(`Too many sign-ins from this session in a short time; try again in ${retryAfterSeconds} s.\n`);
  }
}
