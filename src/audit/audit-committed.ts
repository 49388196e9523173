import { Injectable } from '@nestjs/common';

/**
 * Told, in this process, when audit events have committed (AuditService after the commit, the
 * SSO hot path after its statement): the audit streams' delivery worker listens, so an event
 * written here is sent at once without a Postgres NOTIFY. A NOTIFY would cost every writing
 * transaction a database-wide lock at commit (PostgreSQL serialises the commits of all
 * notifying transactions on the notify queue: src/backend/commands/async.c, PreCommit_Notify),
 * paid on the hot path for a wake-up that only matters when the worker is idle. Events written
 * by another process are found by the worker's short poll instead.
 */
@Injectable()
export class AuditCommitted {
  private readonly listeners = new Set<() => void>();

  /** Cheap and synchronous: listeners coalesce the wake-ups themselves. */
  notify(): void {
    for (const l of this.listeners) l();
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
