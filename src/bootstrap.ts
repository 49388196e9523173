import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { SsoFastPath } from './issuance/sso-fast-path';
import { SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import { json, NextFunction, Request, Response, urlencoded } from 'express';
import { Logger } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppModule } from './app.module';
import { LOGIN_BODY_LIMIT, LOGIN_BODY_TOO_LARGE } from './auth/login/login-form';
import { contentEncodingGate, decodingErrorsExplained } from './common/body-encoding';
import { badRequest, CommonError, DomainError } from './common/errors';
import { assignRequestId } from './common/logging';
import { securityHeaders } from './common/security-headers';
import { hostPrefixedCookies } from './common/cookie-names';
import { buildOpenApiDocument } from './common/openapi';
import { configToken } from './config/config.module';
import { Config } from './config/configuration';
import { ShutdownState } from './health/shutdown';
import { replayedBody } from './inbound/handoff-request';
import { MetricsService } from './metrics/metrics.service';

/**
 * Express-level set-up shared by main.ts and the HTTP specs (everything else lives in
 * AppModule's providers).
 */
export function configureApp(app: NestExpressApplication): void {
  const appConfig = app.get<Config<'app'>>(configToken('app'));
  app.useLogger(app.get(Logger));
  // Created with autoFlushLogs off (createApp): the start-up lines go to the JSON logger now.
  app.flushLogs();
  // First, so every response carries them: pages, error pages, body-parser errors, JSON.
  app.use(securityHeaders({ https: appConfig.publicUrl.startsWith('https:') }));
  app.use((req: IncomingMessage, res: ServerResponse, next: () => void) => {
    assignRequestId(req, res);
    next();
  });
  app.use(app.get(ShutdownState).closeConnections);
  app.use(app.get(MetricsService).httpMiddleware());
  app.use(cookieParser());
  // Over https the session and CSRF cookies are `__Host-` cookies; readers see logical names.
  app.use(hostPrefixedCookies(appConfig.secureCookies));
  // Before any parser: a body in a coding we do not inflate is a 415, whatever the route.
  app.use(contentEncodingGate);
  // POST /login parses its own form first: an oversized body becomes the form again with a
  // 400 (LoginFormGuard) rather than the generic 413. The parsers below then skip it.
  // POST /sso/<target> (a host-app hand-off form) likewise: an oversized one is a refusal the
  // hand-off audits (assertion_too_large), not an unaudited 413.
  const loginForm = decodingErrorsExplained(urlencoded({ limit: LOGIN_BODY_LIMIT, extended: false }));
  app.use(['/login', '/sso'], (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'POST') return next();
    // A hand-off the fast path read and then handed on: the same parser reads the same bytes.
    const replay = replayedBody(req);
    loginForm((replay ?? req) as Request, res, (err?: unknown) => {
      if (replay) req.body = replay.body;
      if ((err as { type?: string } | undefined)?.type === 'entity.too.large') {
        (req as unknown as Record<symbol, unknown>)[LOGIN_BODY_TOO_LARGE] = true;
        req.body = {};
        return next();
      }
      next(err);
    });
  });
  // The admin API takes JSON objects only. A JSON body sent as a form (curl -d without -H)
  // would otherwise be parsed as one odd form key and refused as "property {...} should not
  // exist"; an array would reach validation as a list of properties.
  app.use('/api', (req: Request, _res: Response, next: NextFunction) => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody && !req.is('application/json')) {
      return next(
        new DomainError(CommonError.UnsupportedMediaType, 415, `Send the body as JSON with the header content-type: application/json (got ${JSON.stringify(req.headers['content-type'] ?? 'none')})`),
      );
    }
    next();
  });
  app.use(decodingErrorsExplained(json({ limit: '100kb' })));
  app.use('/api', (req: Request, _res: Response, next: NextFunction) => {
    if (Array.isArray(req.body)) return next(badRequest(CommonError.InvalidBody, 'The request body must be a JSON object'));
    next();
  });
  app.use(decodingErrorsExplained(urlencoded({ limit: '20kb', extended: false })));
  app.disable('x-powered-by');
  // A hop count or the proxies' addresses, never `true` (config refuses it: clients forge XFF).
  if (appConfig.trustProxy !== false) app.set('trust proxy', appConfig.trustProxy);
  // Built from the routes' own metadata (src/common/openapi.ts); test/medium/openapi.medium-spec.ts checks it.
  SwaggerModule.setup('api/docs', app, () => buildOpenApiDocument(app));
  // Successful SSO handshakes are answered in front of Express; everything else reaches it.
  app.get(SsoFastPath).install(app);
}

export async function createApp(): Promise<NestExpressApplication> {
  // A failed start throws to main (abortOnError: false), which prints one line; the buffered
  // Nest lines and its ExceptionHandler stack are not flushed to the coloured console then.
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { bufferLogs: true, autoFlushLogs: false, abortOnError: false, bodyParser: false });
  configureApp(app);
  return app;
}

export type { INestApplication };
