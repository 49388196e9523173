/**
 * One error hierarchy. `message` and `details` are what the client may see; `internal` is
 * what only the log may see (e.g. why a login failed). The global filter maps these to HTTP.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly internal?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** `code` is `<thing>_not_found`; the message says "<thing> not found". */
export const notFound = (code: string, details?: Record<string, unknown>) =>
  new DomainError(code, 404, `${code.replace(/_not_found$/, '').replace(/_/g, ' ')} not found`, details);

export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new DomainError(code, 409, message, details);

export const badRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new DomainError(code, 400, message, details);

export const forbidden = (code: string, message: string, internal?: string) =>
  new DomainError(code, 403, message, undefined, internal);

export const unauthorized = (code: string, message: string, internal?: string) =>
  new DomainError(code, 401, message, undefined, internal);

/**
 * Every error code the request pipeline (input sanity) can answer with (the `error` of the
 * JSON answer). One list, so a reader sees every refusal in one place.
 */
export enum CommonError {
  Conflict = 'conflict',
  InternalError = 'internal_error',
  InvalidBody = 'invalid_body',
  InvalidCharacters = 'invalid_characters',
  InvalidKey = 'invalid_key',
  InvalidValue = 'invalid_value',
  MalformedBody = 'malformed_body',
  PayloadTooLarge = 'payload_too_large',
  ReferenceNotFound = 'reference_not_found',
  TooDeeplyNested = 'too_deeply_nested',
  UndecodableBody = 'undecodable_body',
  UnsupportedContentEncoding = 'unsupported_content_encoding',
  UnsupportedMediaType = 'unsupported_media_type',
  ValidationFailed = 'validation_failed',
}
