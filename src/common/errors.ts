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

export const notFound = (what: string, details?: Record<string, unknown>) =>
  new DomainError(`${what.replace(/\s+/g, '_')}_not_found`, 404, `${what} not found`, details);

export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new DomainError(code, 409, message, details);

export const badRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new DomainError(code, 400, message, details);

export const forbidden = (code: string, message: string, internal?: string) =>
  new DomainError(code, 403, message, undefined, internal);

export const unauthorized = (code: string, message: string, internal?: string) =>
  new DomainError(code, 401, message, undefined, internal);
