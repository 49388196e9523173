import { Injectable, Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
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
  // Stop listening, but leave open keep-alive connections alone: http.Server.close() (Node >= 19)
  // would also destroy every connection idle at this instant, and a client that is just
  // sending its next request on one gets "socket closed" for a request we never read (the
  // keep-alive race, RFC 9112 §9.3.1: only idempotent requests may be retried, and fetch does
  // not). Instead each such connection ends on its own: after its next response (which carries
  // `Connection: close`, see ShutdownState) or at its keep-alive timeout, which clients know
  // from the `Keep-Alive` header and stop reusing before. net.Server's close callback runs once
  // every connection has ended; the grace period below bounds the wait.
  const drained = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
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
