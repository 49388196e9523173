import { Injectable, Param, PipeTransform } from '@nestjs/common';
import type { AdminPrincipal } from '../auth/auth.types';
import { notFound } from '../common/errors';
import { isSlug, isUuid } from '../common/identifiers';
import { TargetsService } from '../catalog/targets.service';
import { AdminError } from './admin.errors';

/**
 * For a tenant named outside the path (a body or query `tenantId`): a tenant-scoped key may
 * only name its own, and any other gets the same 404 as a tenant that does not exist.
 * (A `:tenantId` in the path is checked by the guard, from the route's @TenantScoped().)
 */
export function assertTenantInScope(principal: AdminPrincipal, tenantId: string): void {
  if (principal.tenantId !== null && principal.tenantId !== tenantId) throw notFound(AdminError.TenantNotFound);
}

/** A target in a path: its id or its slug (`/tenants/acme/access/mb`), resolved to the id. */
@Injectable()
export class TargetRefPipe implements PipeTransform<unknown, Promise<string>> {
  constructor(private readonly targets: TargetsService) {}

  async transform(value: unknown): Promise<string> {
    if (isUuid(value)) return value.toLowerCase();
    const target = isSlug(value) ? await this.targets.findBySlug(value) : null;
    if (!target) throw notFound(AdminError.TargetNotFound);
    return target.id;
  }
}

/** A path parameter naming a target by id or slug; unknown or malformed: 404 target_not_found. */
export const TargetRef = (name: string) => Param(name, TargetRefPipe);
