import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How a session was opened (null: the password form; else the inbound source, e.g.
 * `oidc_upstream`), so logout can offer the company IdP's end-session URL for the sessions it
 * opened. Additive and nullable: the previous version, still running during a deploy, inserts
 * without it.
 */
export class AddSessionOpenedBy1765250000001 implements MigrationInterface {
  name = 'AddSessionOpenedBy1765250000001';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions ADD COLUMN opened_by varchar(32)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sessions DROP COLUMN opened_by`);
  }
}
