import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Whether a tenant with its own identity provider still lets its people sign in with a
 * password. Additive, with a default that keeps today's behaviour: the previous version,
 * still running during a deploy, neither reads nor writes it.
 */
export class AddTenantPasswordSignIn1765250000000 implements MigrationInterface {
  name = 'AddTenantPasswordSignIn1765250000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tenants ADD COLUMN password_sign_in boolean NOT NULL DEFAULT true`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tenants DROP COLUMN password_sign_in`);
  }
}
