import type { DataSource } from 'typeorm';
import { Access } from '../../src/catalog/access.entity';

/** A tenant's grant to a target as stored, or null: the lookup carries the tenant. */
export function findAccess(ds: DataSource, tenantId: string, targetId: string): Promise<Access | null> {
  return ds.getRepository(Access).findOne({ where: { tenantId, targetId } });
}
