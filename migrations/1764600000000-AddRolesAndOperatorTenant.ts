import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who may use the operator console. `users.role`: a `tenant_admin` manages their own tenant
 * in /console; a `member` only signs in to the BI tools. `tenants.operator`: the one tenant
 * whose users are platform operators (every tenant). At most one tenant carries the flag
 * (partial unique index); only the start-up bootstrap and `npm run create-operator` set it,
 * never the admin API.
 */
export class AddRolesAndOperatorTenant1764600000000 implements MigrationInterface {
  name = 'AddRolesAndOperatorTenant1764600000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN role varchar(20) NOT NULL DEFAULT 'member'`);
    await q.query(`ALTER TABLE users ADD CONSTRAINT ck_users_role CHECK (role IN ('member', 'tenant_admin'))`);
    await q.query(`ALTER TABLE tenants ADD COLUMN operator boolean NOT NULL DEFAULT false`);
    await q.query(`CREATE UNIQUE INDEX uq_tenants_operator ON tenants (operator) WHERE operator`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX uq_tenants_operator`);
    await q.query(`ALTER TABLE tenants DROP COLUMN operator`);
    await q.query(`ALTER TABLE users DROP CONSTRAINT ck_users_role`);
    await q.query(`ALTER TABLE users DROP COLUMN role`);
  }
}
