import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import type { RequestMeta } from '../common/request-meta';
import { updatedRows, isUniqueViolation } from '../common/db-errors';
import { conflict, notFound } from '../common/errors';
import { TenantsService } from '../tenants/tenants.service';
import { GroupMember } from './group-member.entity';
import { Group } from './group.entity';
import { User } from './user.entity';
import { UsersError } from './users.errors';

const nameTaken = (name: string) =>
  conflict(UsersError.GroupNameTaken, `A group named ${JSON.stringify(name)} already exists in this tenant`, { name });

/** Re-keys another module's rows from the group name `from` to `to`, in the rename's transaction. */
export type GroupRenameFollower = (m: EntityManager, tenantId: string, from: string, to: string) => Promise<void>;

/**
 * A tenant's groups and memberships. Group names are what target access grants map to the
 * BI tool's groups, so a rename carries those mappings along. Every query carries the
 * tenant id; every change writes its audit event in its transaction.
 */
@Injectable()
export class GroupsService {
  private readonly renameFollowers: GroupRenameFollower[] = [];

  constructor(
    @InjectRepository(Group) private readonly repo: Repository<Group>,
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  /**
   * `follow` re-keys, in each rename's transaction, what its module keys by group name. The
   * owner of such a table registers here (AccessService: tenant_target_access.group_mappings),
   * as it depends on this module and not the reverse.
   */
  followRenames(follow: GroupRenameFollower): void {
    this.renameFollowers.push(follow);
  }

  async list(tenantId: string, page: { limit: number; offset: number }): Promise<{ items: Group[]; total: number }> {
    await TenantsService.assertExists(this.dataSource.manager, tenantId);
    const [items, total] = await this.repo.findAndCount({
      where: { tenantId },
      order: { name: 'ASC', id: 'ASC' },
      take: page.limit,
      skip: page.offset,
    });
    return { items, total };
  }

  async findById(tenantId: string, groupId: string): Promise<Group> {
    const group = await this.repo.findOne({ where: { id: groupId, tenantId } });
    if (!group) throw notFound(UsersError.GroupNotFound);
    return group;
  }

  async create(meta: RequestMeta, tenantId: string, name: string): Promise<Group> {
    try {
      return await this.dataSource.transaction(async (m) => {
        await TenantsService.assertExists(m, tenantId);
        const repo = m.getRepository(Group);
        if (await repo.exists({ where: { tenantId, name } })) throw nameTaken(name);
        const group = await repo.save(repo.create({ tenantId, name }));
        await this.audit.record(meta, { type: 'group.created', tenantId, details: { groupId: group.id, name } }, m);
        return group;
      });
    } catch (e) {
      if (isUniqueViolation(e, 'uq_groups_tenant_name')) throw nameTaken(name);
      throw e;
    }
  }

  /**
   * Renames the group and, in the same transaction, re-keys the tenant's group mappings
   * (tenant_target_access.group_mappings is keyed by local group name): otherwise the
   * members would silently lose their BI groups at their next sign-in.
   */
  async rename(meta: RequestMeta, tenantId: string, groupId: string, name: string): Promise<Group> {
    try {
      return await this.dataSource.transaction(async (m) => {
        const repo = m.getRepository(Group);
        const group = await repo.findOne({ where: { id: groupId, tenantId }, lock: { mode: 'pessimistic_write' } });
        if (!group) throw notFound(UsersError.GroupNotFound);
        if (group.name === name) return group;
        if (await repo.exists({ where: { tenantId, name } })) throw nameTaken(name);
        await repo.update({ id: groupId, tenantId }, { name });
        for (const follow of this.renameFollowers) await follow(m, tenantId, group.name, name);
        await this.audit.record(meta, { type: 'group.renamed', tenantId, details: { groupId, from: group.name, to: name } }, m);
        return { ...group, name };
      });
    } catch (e) {
      if (isUniqueViolation(e, 'uq_groups_tenant_name')) throw nameTaken(name);
      throw e;
    }
  }

  /** Deletes the group; its memberships go with it (foreign-key cascade). */
  async remove(meta: RequestMeta, tenantId: string, groupId: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const group = await m.getRepository(Group).findOne({ where: { id: groupId, tenantId } });
      if (!group) throw notFound(UsersError.GroupNotFound);
      await m.getRepository(Group).delete({ id: groupId, tenantId });
      await this.audit.record(meta, { type: 'group.deleted', tenantId, details: { groupId, name: group.name } }, m);
    });
  }

  /** Idempotent: adding a member twice is not an error and records one event. */
  async addMember(meta: RequestMeta, tenantId: string, groupId: string, userId: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const { group, user } = await this.groupAndUser(m, tenantId, groupId, userId);
      const rows: unknown[] = await m.query(
        `INSERT INTO group_members (group_id, user_id, tenant_id) VALUES ($1, $2, $3)
         ON CONFLICT (group_id, user_id) DO NOTHING RETURNING user_id`,
        [groupId, userId, tenantId],
      );
      if (rows.length) {
        await this.audit.record(
          meta,
          { type: 'group.member_added', tenantId, details: { groupId, group: group.name, userId, email: user.email } },
          m,
        );
      }
    });
  }

  async removeMember(meta: RequestMeta, tenantId: string, groupId: string, userId: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const { group, user } = await this.groupAndUser(m, tenantId, groupId, userId);
      const result = await m.getRepository(GroupMember).delete({ groupId, userId, tenantId });
      if (!result.affected) throw notFound(UsersError.MembershipNotFound, { groupId, userId });
      await this.audit.record(
        meta,
        { type: 'group.member_removed', tenantId, details: { groupId, group: group.name, userId, email: user.email } },
        m,
      );
    });
  }

  async members(tenantId: string, groupId: string, page: { limit: number; offset: number }): Promise<{ items: User[]; total: number }> {
    await this.findById(tenantId, groupId);
    const [items, total] = await this.dataSource
      .getRepository(User)
      .createQueryBuilder('u')
      .innerJoin(GroupMember, 'gm', 'gm.user_id = u.id AND gm.tenant_id = u.tenant_id')
      .where('u.tenant_id = :tenantId AND gm.group_id = :groupId', { tenantId, groupId })
      .orderBy('u.email', 'ASC')
      .addOrderBy('u.id', 'ASC')
      .offset(page.offset)
      .limit(page.limit)
      .getManyAndCount();
    return { items, total };
  }

  async groupsOfUser(tenantId: string, userId: string): Promise<Group[]> {
    if (!(await this.dataSource.getRepository(User).exists({ where: { id: userId, tenantId } }))) throw notFound(UsersError.UserNotFound);
    return this.repo
      .createQueryBuilder('g')
      .innerJoin(GroupMember, 'gm', 'gm.group_id = g.id AND gm.tenant_id = g.tenant_id')
      .where('g.tenant_id = :tenantId AND gm.user_id = :userId', { tenantId, userId })
      .orderBy('g.name', 'ASC')
      .getMany();
  }

  /** Of `names`, those that are not a group of the tenant (sorted). */
  async missingNames(m: EntityManager, tenantId: string, names: string[]): Promise<string[]> {
    if (!names.length) return [];
    const rows: { name: string }[] = await m.query(`SELECT name FROM groups WHERE tenant_id = $1 AND name = ANY ($2::varchar[])`, [tenantId, names]);
    const found = new Set(rows.map((r) => r.name));
    return [...new Set(names)].filter((n) => !found.has(n)).sort();
  }

  /** Which of `names` are groups of the tenant (sorted): hand-off keeps only those. */
  async existingNames(tenantId: string, names: string[]): Promise<string[]> {
    if (!names.length) return [];
    const rows: { name: string }[] = await this.dataSource.query(
      `SELECT name FROM groups WHERE tenant_id = $1 AND name = ANY($2::varchar[]) ORDER BY name`,
      [tenantId, [...new Set(names)]],
    );
    return rows.map((r) => r.name);
  }

  /**
   * Makes the user's memberships exactly the tenant's groups named in `names` (unknown names
   * are ignored): the hand-off's group sync. One transaction, one audit event when anything
   * changed. The user is locked so two syncs of one user do not interleave.
   */
  async replaceMemberships(meta: RequestMeta, tenantId: string, userId: string, names: string[]): Promise<{ added: string[]; removed: string[] }> {
    return this.dataSource.transaction(async (m) => {
      const user = await m.getRepository(User).findOne({ where: { id: userId, tenantId }, lock: { mode: 'pessimistic_write' } });
      if (!user) throw notFound(UsersError.UserNotFound);
      const removed: { name: string }[] = updatedRows(
        await m.query(
          `DELETE FROM group_members gm USING groups g
            WHERE gm.group_id = g.id AND gm.tenant_id = $1 AND g.tenant_id = $1 AND gm.user_id = $2
              AND NOT (g.name = ANY($3::varchar[]))
          RETURNING g.name`,
          [tenantId, userId, names],
        ),
      );
      const added: { name: string }[] = await m.query(
        `INSERT INTO group_members (group_id, user_id, tenant_id)
         SELECT g.id, $2, $1 FROM groups g WHERE g.tenant_id = $1 AND g.name = ANY($3::varchar[])
         ON CONFLICT (group_id, user_id) DO NOTHING
         RETURNING (SELECT name FROM groups WHERE id = group_id) AS name`,
        [tenantId, userId, names],
      );
      const result = { added: added.map((r) => r.name).sort(), removed: removed.map((r) => r.name).sort() };
      if (result.added.length || result.removed.length) {
        await this.audit.record(meta, { type: 'group.memberships_synced', tenantId, details: { userId, email: user.email, ...result } }, m);
      }
      return result;
    });
  }

  /** Both must belong to the tenant; the group is share-locked so a concurrent rename or delete waits. */
  private async groupAndUser(m: EntityManager, tenantId: string, groupId: string, userId: string): Promise<{ group: Group; user: User }> {
    const group = await m.getRepository(Group).findOne({ where: { id: groupId, tenantId }, lock: { mode: 'pessimistic_read' } });
    if (!group) throw notFound(UsersError.GroupNotFound);
    const user = await m.getRepository(User).findOne({ where: { id: userId, tenantId } });
    if (!user) throw notFound(UsersError.UserNotFound);
    return { group, user };
  }
}
