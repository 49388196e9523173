import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { Config } from '../config/configuration';

/**
 * Every log line passes through here. Tests subscribe to 'line' to prove no secret is ever
 * logged; outside tests lines go to stdout as JSON.
 */
export const logTap = new EventEmitter();
logTap.setMaxListeners(50);

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function loggerParams(app: Config<'app'>): Params {
  const toStdout = app.nodeEnv !== 'test';
  return {
    pinoHttp: [
      {
        level: app.logLevel,
        // An incoming X-Request-Id is kept when it is sane, else a new one is made.
        genReqId: (req: IncomingMessage, res: ServerResponse) => assignRequestId(req, res),
        // Credentials never reach the log: headers are reduced to a safe few, bodies are not logged.
        serializers: {
          req: (req: { id: string; method: string; url: string; headers: Record<string, string> }) => ({
            id: req.id,
            method: req.method,
            url: redactUrl(req.url),
            userAgent: req.headers?.['user-agent'],
          }),
          res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        },
        redact: {
          paths: ['password', '*.password', 'secret', '*.secret', 'secrets', '*.secrets', 'embeddingSecret', '*.embeddingSecret', 'key', '*.key'],
          censor: '[redacted]',
        },
        customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
          err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug',
        autoLogging: { ignore: (req: IncomingMessage) => (req.url ?? '').startsWith('/health/live') },
      },
      {
        write(line: string) {
          if (toStdout) process.stdout.write(line);
          logTap.emit('line', line);
        },
      },
    ],
  };
}

/**
 * Gives the request its id (an incoming sane X-Request-Id, else a new uuid) and echoes it.
 * Also registered as the very first Express middleware (bootstrap.ts), so errors raised
 * before the logger runs (a malformed JSON body) still carry the id.
 */
export function assignRequestId(req: IncomingMessage & { id?: unknown }, res: ServerResponse): string {
  if (typeof req.id === 'string') return req.id;
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  req.id = id;
  res.setHeader('X-Request-Id', id);
  return id;
}

/**
 * Query parameters whose values never reach the log: any name CONTAINING one of these words,
 * case-insensitively (`access_token`, `api_key`, `client_secret`, `SAMLAssertion`, `jwt`...),
 * plus the OAuth/OIDC `code`. A name-based rule rather than a list of names: a list misses the
 * next spelling (`access_token=` and `api_key=` went to the log).
 */
const SECRET_PARAM_WORDS = /token|key|secret|passw|assertion|jwt|signature|credential/i;
const SECRET_PARAM_NAMES = new Set(['code']);

export function isSecretParam(name: string): boolean {
  return SECRET_PARAM_WORDS.test(name) || SECRET_PARAM_NAMES.has(name.toLowerCase());
}

/** Tokens travel in query strings (jwt=, handoff assertions): their values are replaced by [redacted]. */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url) return url;
  const q = url.indexOf('?');
  if (q < 0) return url;
  const hash = url.indexOf('#', q);
  const end = hash < 0 ? url.length : hash;
  const query = url
    .slice(q + 1, end)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      const name = pair.slice(0, eq);
      return isSecretParam(decodeParamName(name)) ? `${name}=[redacted]` : pair;
    })
    .join('&');
  return `${url.slice(0, q + 1)}${query}${url.slice(end)}`;
}

/** The name as the query parser sees it (`access%5Ftoken` is `access_token`); raw when malformed. */
function decodeParamName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}
