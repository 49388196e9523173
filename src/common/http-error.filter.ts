import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Inject, Logger, Optional } from '@nestjs/common';
import type { Request, Response } from 'express';
import { QueryFailedError } from 'typeorm';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { isDatabaseUnavailable } from './db-unavailable';
import { ErrorCopy, errorPage, ErrorPageView, retryPathOf } from './error-pages';
import { ErrorResponse } from './error-response';
import { CommonError, DomainError } from './errors';
import { Brand, sendPage } from './look';
import { basePathOf } from './redirects';

const DATABASE_UNAVAILABLE = 'database_unavailable';

/** Typed by the class the OpenAPI document publishes, so the two cannot drift apart. */
type ErrorBody = ErrorResponse;

/**
 * The one place errors become HTTP. 4xx bodies say what was wrong; a 5xx body says nothing
 * internal, only the request id, while the log gets the detail under that same id.
 */
/**
 * The visitor's tenant look, for error pages: provided by the tenants module, which depends
 * on this folder (AppModule imports it, where this filter is registered).
 */
export const ERROR_PAGE_BRANDING = Symbol('ERROR_PAGE_BRANDING');
export interface ErrorPageBranding {
  brandFor(tenant: { slug: string }): Promise<Brand | null>;
}

/**
 * The products' error-page words for their own codes (their definitions' errorCopy): handed
 * over by AppModule, as the products sit above this folder.
 */
export const ERROR_PAGE_COPY = Symbol('ERROR_PAGE_COPY');

/** What the filter reads of a request: the session the auth guard loaded, if any. */
type RequestWithSession = Request & { sessionContext?: { tenant: { slug: string } } | null };

@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly log = new Logger('HttpError');
  private readonly basePath: string;

  constructor(
    @Inject(ERROR_PAGE_BRANDING) private readonly tenants: ErrorPageBranding,
    @InjectConfig('app') app: Config<'app'>,
    @Optional() @Inject(ERROR_PAGE_COPY) private readonly productCopy: Readonly<Record<string, ErrorCopy>> | null = null,
  ) {
    this.basePath = basePathOf(app.publicUrl);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request & { id?: string }>();
    const res = ctx.getResponse<Response>();
    const requestId = typeof req.id === 'string' ? req.id : undefined;
    const body = this.toBody(exception);
    body.requestId = requestId;

    if (body.error === DATABASE_UNAVAILABLE) {
      this.log.warn({ requestId, err: loggableError(exception) }, 'database unavailable');
    } else if (body.statusCode >= 500) {
      this.log.error({ requestId, err: loggableError(exception) }, 'unhandled error');
    } else if (exception instanceof DomainError && exception.internal) {
      this.log.warn({ requestId, code: exception.code, reason: exception.internal }, exception.message);
    }
    if (res.headersSent) return;
    if (requestId) res.setHeader('X-Request-Id', requestId);
    // A refusal that says when to come back (a full hash queue): RFC 9110 §10.2.3.
    const retryAfter = (exception as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
    if (typeof retryAfter === 'number' && retryAfter > 0) res.setHeader('Retry-After', String(retryAfter));
    if (body.error === DATABASE_UNAVAILABLE) res.setHeader('Retry-After', '5');
    if (wantsHtml(req)) {
      // Not awaited by Nest: everything that can fail is inside, and falls back to our look.
      void this.sendErrorPage(req, res, body);
    } else {
      res.status(body.statusCode).json(body);
    }
  }

  /**
   * The error page, in the look of the session's tenant (on routes that load one). Never by
   * a `?tenant=` alone: a page that changed with it would tell an anonymous visitor which
   * organizations exist.
   */
  private async sendErrorPage(req: RequestWithSession, res: Response, body: ErrorBody): Promise<void> {
    let tenant: ErrorPageView['tenant'] = null;
    try {
      const slug = req.sessionContext?.tenant.slug ?? null;
      // No database round trip when the database is what failed.
      const brand = slug && body.statusCode < 500 ? await this.tenants.brandFor({ slug }) : null;
      if (slug && brand) tenant = { slug, brand };
    } catch (e) {
      this.log.warn({ requestId: body.requestId, err: loggableError(e) }, 'error page without branding');
    }
    if (res.headersSent) return;
    const retryPath = retryPathOf(req.method, req.originalUrl ?? '', this.basePath);
    try {
      sendPage(res, body.statusCode, errorPage({ status: body.statusCode, code: body.error, requestId: body.requestId, basePath: this.basePath, tenant, retryPath, productCopy: this.productCopy ?? {} }));
    } catch (e) {
      this.log.error({ requestId: body.requestId, err: loggableError(e) }, 'error page failed');
      if (!res.headersSent) res.status(body.statusCode).type('text').send(`Error ${body.statusCode}. Reference: ${body.requestId ?? '-'}`);
    }
  }

  private toBody(e: unknown): ErrorBody {
    if (e instanceof DomainError) {
      return { statusCode: e.status, error: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) };
    }
    if (e instanceof HttpException) {
      const status = e.getStatus();
      const r = e.getResponse();
      if (typeof r === 'object' && r !== null && Array.isArray((r as { message?: unknown }).message)) {
        const problems = (r as { message: string[] }).message;
        const fields = (r as { fields?: unknown }).fields;
        return { statusCode: status, error: CommonError.ValidationFailed, message: problems.join('; '), details: { problems, ...(Array.isArray(fields) && { fields }) } };
      }
      if (typeof r === 'object' && r !== null && 'details' in r && 'status' in r) {
        // Terminus health result: keep which dependency is down.
        return { statusCode: status, error: codeFor(status), message: 'not ready', details: (r as { details: Record<string, unknown> }).details };
      }
      const message = typeof r === 'string' ? r : String((r as { message?: unknown }).message ?? e.message);
      return { statusCode: status, error: codeFor(status), message };
    }
    if (e instanceof QueryFailedError) {
      const pg = e.driverError as { code?: string; constraint?: string; detail?: string };
      // Fallbacks: services check these themselves, but a race still must not become a 500.
      if (pg.code === '23505') {
        return { statusCode: 409, error: CommonError.Conflict, message: `already exists (${pg.constraint ?? 'unique'})` };
      }
      // 22021/22P05: bytes Postgres cannot store (NUL); 54001: a value nested too deep.
      if (['22P02', '23514', '22001', '22021', '22P05', '54001'].includes(pg.code ?? '')) {
        return { statusCode: 400, error: CommonError.InvalidValue, message: 'a value is malformed or out of range' };
      }
      if (pg.code === '23503') {
        return { statusCode: 404, error: CommonError.ReferenceNotFound, message: 'a referenced record does not exist' };
      }
    }
    if (isDatabaseUnavailable(e)) {
      return { statusCode: 503, error: DATABASE_UNAVAILABLE, message: 'The service is temporarily unavailable. Try again in a few seconds.' };
    }
    if (isBodyParserError(e)) {
      return { statusCode: e.status, error: e.status === 413 ? CommonError.PayloadTooLarge : CommonError.MalformedBody, message: e.message };
    }
    return { statusCode: 500, error: CommonError.InternalError, message: 'Internal error' };
  }
}

/**
 * What of an error may be logged: a QueryFailedError carries the statement's parameters
 * (password hashes, sealed secrets) and the driver's detail (the values of a violated key),
 * so only its message, code and constraint are kept; other errors keep name, message, stack.
 */
export function loggableError(e: unknown): Record<string, unknown> {
  if (e instanceof QueryFailedError) {
    const pg = e.driverError as { code?: string; constraint?: string; table?: string };
    return { type: 'QueryFailedError', code: pg.code, constraint: pg.constraint, table: pg.table, message: e.message, stack: e.stack };
  }
  if (e instanceof Error) return { type: e.name, message: e.message, stack: e.stack };
  return { type: typeof e, message: String(e).slice(0, 200) };
}

function isBodyParserError(e: unknown): e is { status: number; message: string; type: string } {
  return typeof e === 'object' && e !== null && typeof (e as { type?: unknown }).type === 'string' &&
    typeof (e as { status?: unknown }).status === 'number' && (e as { status: number }).status < 500;
}

function codeFor(status: number): string {
  const name = HttpStatus[status];
  return typeof name === 'string' ? name.toLowerCase() : 'error';
}

/** Browser-facing routes (login, SSO, logout) get a page; the API and JSON callers get JSON. */
export function wantsHtml(req: Request): boolean {
  if (!mayAnswerHtml(req.path)) return false;
  if (req.query?.response === 'json') return false;
  return (req.headers.accept ?? '').includes('text/html');
}

/** A path whose errors are a page for a browser that asks for HTML (everything but the API and health). */
export function mayAnswerHtml(path: string): boolean {
  return !path.startsWith('/api/') && !path.startsWith('/health');
}
