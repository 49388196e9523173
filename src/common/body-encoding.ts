import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { CommonError, DomainError } from './errors';

/**
 * The content codings a request body may arrive in (RFC 9110 §8.4.1): the ones body-parser
 * inflates on every Node we run on. zstd is left out on purpose: body-parser takes it only
 * where Node's zlib has it, so the same request would be read on one host and refused on
 * another. One coding, not a list: nobody sends "gzip, br" to an identity provider.
 */
export const ACCEPTED_CONTENT_ENCODINGS = ['identity', 'gzip', 'deflate', 'br'] as const;

function contentEncodingOf(req: Request): string {
  return String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
}

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/**
 * Refuses a body in a coding we do not take with 415 (RFC 9110 §15.5.16 names this case),
 * before any parser reads it, whatever its content type.
 */
export function contentEncodingGate(req: Request, _res: Response, next: NextFunction): void {
  const coding = contentEncodingOf(req);
  if (!hasBody(req) || (ACCEPTED_CONTENT_ENCODINGS as readonly string[]).includes(coding)) return next();
  next(
    new DomainError(
      CommonError.UnsupportedContentEncoding,
      415,
      `The request body's content-encoding ${JSON.stringify(coding.slice(0, 40))} is not accepted; send it as identity, gzip, deflate or br`,
    ),
  );
}

/**
 * A body parser whose decoding failures say so. body-parser passes zlib's own error on (a 400
 * with no `type`, which the error filter cannot tell from a fault of ours): a body that claims
 * a coding and does not decode is the sender's mistake, a 400 in words.
 */
export function decodingErrorsExplained(parser: RequestHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) =>
    parser(req, res, (err?: unknown) => {
      if (err && isDecodingError(err) && contentEncodingOf(req) !== 'identity') {
        const coding = contentEncodingOf(req);
        return next(
          new DomainError(
            CommonError.UndecodableBody,
            400,
            `The request body could not be decoded as ${coding} (content-encoding: ${coding}); send it compressed that way, or uncompressed without the header`,
          ),
        );
      }
      next(err);
    });
}

/** zlib's errors (Z_DATA_ERROR, Z_BUF_ERROR, ERR__ERROR_FORMAT_… for brotli), as body-parser hands them on. */
function isDecodingError(err: unknown): boolean {
  const e = err as { type?: unknown; code?: unknown; errno?: unknown };
  return typeof e === 'object' && e !== null && e.type === undefined && typeof e.code === 'string' && typeof e.errno === 'number';
}
