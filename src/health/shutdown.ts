import { Injectable, Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';
import type { INestApplication } from '@nestjs/common';

/**
 * Whether the process is draining. Readiness answers 503 from the moment it is (a load
 * balancer stops routing here), and keep-alive connections are told to close after their
 * current response so no new request arrives on them.
 */
@Injectable()
export class ShutdownState {
  private drainingSince: number | undefined;

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  begin(): void {
    this.drainingSince ??= Date.now();
  }

  /** Express middleware: `Connection: close` on every response once draining (RFC 9112 §9.6). */
  readonly closeConnections = (_req: Request, res: Response, next: NextFunction): void => {
    if (this.draining) res.setHeader('Connection', 'close');
    next();
  };
}

/**
 * Graceful stop: stop accepting, let the requests already in flight finish (at most
 * `graceMs`), then close the application — its DataSource (the pool) and the embedded
 * Postgres. Nest's own app.close() ends the pool BEFORE the HTTP server, so requests still
 * running would fail with "Cannot use a pool after calling end on the pool"; hence the order.
 */
export async function drainAndClose(app: INestApplication, graceMs: number): Promise<void> {
  const log = new Logger('Shutdown');
  app.get(ShutdownState).begin();
  const server = app.getHttpServer() as Server;
  const drained = new Promise<void>((resolve) => server.close(() => resolve()));
  // Idle keep-alive sockets carry no request: close them now (Node closes them in close()
  // too from v19; harmless twice). Busy ones close after their response (Connection: close).
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
  const late = await Promise.race([drained.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) {
    log.warn(`requests still running after the ${graceMs / 1000} s grace period: closing their connections`);
    server.closeAllConnections();
  }
  await app.close();
}
