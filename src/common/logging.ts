import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { AppConfig } from '../config/configuration';

/**
 * Every log line passes through here. Tests subscribe to 'line' to prove no secret is ever
 * logged; outside tests lines go to stdout as JSON.
 */
export const logTap = new EventEmitter();
logTap.setMaxListeners(50);

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function loggerParams(config: AppConfig): Params {
  const toStdout = config.app.nodeEnv !== 'test';
  return {
    pinoHttp: [
      {
        level: config.app.logLevel,
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
          paths: ['password', '*.password', 'secret', '*.secret', 'embeddingSecret', '*.embeddingSecret', 'key', '*.key'],
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

/** Tokens travel in query strings (jwt=, handoff assertions): never log their values. */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url) return url;
  return url.replace(/([?&](?:jwt|token|assertion|code|password|key)=)[^&#]*/gi, '$1[redacted]');
}
